// docs/cli.md is generated from the option table that also builds the parsers and --help: it cannot drift.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliReferencePath, renderCliReference } from '../../scripts/cli-reference.ts';
import { options, optionsOf, parseOptions } from '../../src/commands/options.ts';
import { runUsage } from '../../src/commands/run.ts';

describe('the command line reference', () => {
  it('docs/cli.md is what the option table generates (run `npm run generate`)', () => {
    expect(readFileSync(cliReferencePath, 'utf8')).toBe(renderCliReference());
  });

  it('every flag of a command is in its --help, and run takes every flag of serve and controller', () => {
    for (const option of optionsOf('run')) expect(runUsage).toContain(`--${option.name}`);
    expect(optionsOf('run').map((option) => option.name).sort()).toEqual(
      [...new Set([...optionsOf('serve'), ...optionsOf('controller')].map((option) => option.name))].sort(),
    );
    expect(new Set(options.map((option) => option.name)).size).toBe(options.length);
    for (const command of ['serve', 'controller', 'run', 'migrate plan', 'migrate run', 'migrate status'] as const) {
      const names = optionsOf(command).map((option) => option.name);
      expect(new Set(names).size, command).toBe(names.length);
    }
  });

  it('a flag outside the command is refused by its parser', () => {
    expect(() => parseOptions('serve', ['--workers', '2'])).toThrow(/Unknown option '--workers'/);
    expect(parseOptions('run', ['--workers', '2']).workers).toBe('2');
  });
});
