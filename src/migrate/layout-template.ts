// Where a source keeps one identity's data: a template over a claim's directories (`threads/{thread}/user-data`) or
// over claim names (`legacy-user-{user}`). A legacy layout names directories by the raw id; a policy's own layout
// by the reversible encoding (src/naming/subpath-template.ts), which this reuses rather than restates.
import { matchSubPath, parseSubPathTemplate, type ParsedTemplate, type TemplateVariable } from '../naming/subpath-template.ts';

export type LayoutEncoding = 'raw' | 'encoded';

export interface LayoutTemplate {
  text: string;
  parsed: ParsedTemplate;
  encoding: LayoutEncoding;
}

export interface LayoutIds {
  user?: string;
  thread?: string;
}

const placeholder = /\{([^}]*)\}/g;

/** Every reason `text` is no usable template, each naming `field`; `''` (the claim's root) is allowed when `allowRoot`. */
export function layoutTemplateErrors(field: string, text: string, options: { allowRoot: boolean; singleSegment?: boolean }): string[] {
  const errors: string[] = [];
  if (text === '') return options.allowRoot ? [] : [`${field}: Required value: a template such as "threads/{thread}/user-data"`];
  if (text.startsWith('/')) errors.push(`${field}: Invalid value: ${JSON.stringify(text)}: must be relative (no leading "/")`);
  if (options.singleSegment && text.includes('/')) errors.push(`${field}: Invalid value: ${JSON.stringify(text)}: a claim name has no "/"`);
  const segments = text.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..') && !text.startsWith('/')) {
    errors.push(`${field}: Invalid value: ${JSON.stringify(text)}: empty, "." and ".." segments are not allowed`);
  }
  for (const match of text.matchAll(placeholder)) {
    if (match[1] !== 'user' && match[1] !== 'thread') errors.push(`${field}: Invalid value: ${JSON.stringify(text)}: unknown placeholder {${match[1]}} (only {user} and {thread})`);
  }
  const seen = new Map<string, number>();
  for (const segment of segments) {
    const count = [...segment.matchAll(placeholder)].length;
    if (count > 1) errors.push(`${field}: Invalid value: ${JSON.stringify(text)}: segment ${JSON.stringify(segment)} has more than one placeholder`);
    for (const match of segment.matchAll(placeholder)) seen.set(match[1] ?? '', (seen.get(match[1] ?? '') ?? 0) + 1);
  }
  for (const [name, count] of seen) if (count > 1) errors.push(`${field}: Invalid value: ${JSON.stringify(text)}: {${name}} appears ${count} times`);
  return errors;
}

export function layoutTemplate(text: string, encoding: LayoutEncoding): LayoutTemplate {
  return { text, parsed: parseSubPathTemplate(text), encoding };
}

export function templateVariables(template: LayoutTemplate): Set<TemplateVariable> {
  return template.parsed.variables;
}

/** Number of path segments a match has (0 for the claim's root). */
export function templateDepth(template: LayoutTemplate): number {
  return template.text === '' ? 0 : template.parsed.segments.length;
}

/** The ids that `path` carries under the template, or undefined when it does not match. */
export function matchLayout(template: LayoutTemplate, path: string): LayoutIds | undefined {
  if (template.text === '') return path === '' ? {} : undefined;
  if (template.encoding === 'encoded') return matchSubPath(template.parsed, path);
  const parts = path.split('/');
  if (parts.length !== template.parsed.segments.length) return undefined;
  const ids: LayoutIds = {};
  for (const [index, segment] of template.parsed.segments.entries()) {
    const part = parts[index] as string;
    const found = /\{(user|thread)\}/.exec(segment);
    if (!found) {
      if (part !== segment) return undefined;
      continue;
    }
    const before = segment.slice(0, found.index);
    const after = segment.slice(found.index + found[0].length);
    if (part.length <= before.length + after.length || !part.startsWith(before) || !part.endsWith(after)) return undefined;
    ids[found[1] as TemplateVariable] = part.slice(before.length, part.length - after.length);
  }
  return ids;
}
