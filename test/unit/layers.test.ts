// The source tree is layered: a module imports only from its own layer or the layers below it, so cluster I/O,
// the pure admission core and the wiring above them can each be read (and changed) without the ones above.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Bottom first. A folder of src/ (or a file directly in it) belongs to exactly one layer. */
const layers: ReadonlyArray<{ layer: string; holds: readonly string[] }> = [
  { layer: 'base', holds: ['labels.ts', 'plain-json.ts'] },
  { layer: 'naming', holds: ['naming'] },
  { layer: 'policy', holds: ['policy'] },
  { layer: 'admission', holds: ['admission'] },
  { layer: 'migrate', holds: ['migrate'] },
  { layer: 'webhook', holds: ['webhook'] },
  { layer: 'certs', holds: ['certs'] },
  { layer: 'kube', holds: ['kube'] },
  { layer: 'metrics', holds: ['metrics'] },
  { layer: 'controller', holds: ['controller'] },
  { layer: 'commands', holds: ['commands'] },
  { layer: 'cli', holds: ['cli.ts'] },
];

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

function layerOf(file: string): number {
  const top = relative(src, file).split('/')[0] ?? '';
  return layers.findIndex((layer) => layer.holds.includes(top));
}

/** Relative specifiers of static imports, re-exports and dynamic imports (type-only imports count too). */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*['"](\.[^'"]+)['"]|(?:^|\n)\s*import\s*['"](\.[^'"]+)['"]|\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    found.push((match[1] ?? match[2] ?? match[3])!);
  }
  return found;
}

describe('layers', () => {
  const files = sourceFiles(src);

  it('places every source file in a layer', () => {
    expect(files.filter((file) => layerOf(file) < 0).map((file) => relative(src, file))).toEqual([]);
  });

  it('has no import running up the layers', () => {
    const upward: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
        const target = resolve(dirname(file), specifier);
        if (layerOf(target) > layerOf(file)) {
          upward.push(`${relative(src, file)} (${layers[layerOf(file)]!.layer}) imports ${relative(src, target)} (${layers[layerOf(target)]!.layer})`);
        }
      }
    }
    expect(upward).toEqual([]);
  });

  it('talks to the API server only from src/kube', () => {
    const kube = layers.findIndex((layer) => layer.layer === 'kube');
    const callers = files
      .filter((file) => layerOf(file) !== kube)
      .filter((file) => /\bmakeApiClient\(|\bnew k8s\.(?:Watch|ListWatch)\b|\bmakeInformer\(/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(src, file));
    expect(callers).toEqual([]);
  });

  it('finds the imports it checks', () => {
    expect(importsOf("import type { A } from './a.ts';\nimport {\n  b,\n} from '../b.ts';\nexport { c } from './c.ts';\nimport './d.ts';\nconst e = await import('./e.ts');")).toEqual([
      './a.ts',
      '../b.ts',
      './c.ts',
      './d.ts',
      './e.ts',
    ]);
  });
});
