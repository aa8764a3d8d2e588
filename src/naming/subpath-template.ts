// SubPath templates such as `users/{user}/threads/{thread}/user-data`: parsing, checks that keep them injective
// and inside the volume, and rendering with the reversible directory encoding of each id.
import { directoryNameForId } from './identity-names.ts';

export type TemplateVariable = 'user' | 'thread';

export interface ParsedTemplate {
  segments: string[];
  variables: Set<TemplateVariable>;
}

const placeholderPattern = /\{([^{}]*)\}/g;

/** Returns the problems of a template (empty when valid) and its parsed form. */
export function parseSubPathTemplate(template: string): { errors: string[]; parsed: ParsedTemplate } {
  const errors: string[] = [];
  const variables = new Set<TemplateVariable>();
  const segments = template.split('/');
  if (template.length === 0) errors.push('must not be empty');
  else if (template.startsWith('/')) errors.push('must be a relative path');
  else {
    for (const segment of segments) {
      if (segment === '') errors.push("must not contain empty path segments ('//' or a trailing '/')");
      if (segment === '.' || segment === '..') errors.push(`must not contain a '${segment}' segment`);
      const placeholders = [...segment.matchAll(placeholderPattern)].map((match) => match[1] ?? '');
      for (const name of placeholders) {
        if (name === 'user' || name === 'thread') variables.add(name);
        else errors.push(`unknown placeholder {${name}}: only {user} and {thread} are supported`);
      }
      if (placeholders.length > 1) {
        // `{user}{thread}` renders ("ab","c") and ("a","bc") to the same directory.
        errors.push(`segment '${segment}' has more than one placeholder: each placeholder needs a segment of its own`);
      }
      if (segment.replace(placeholderPattern, '').match(/[{}]/)) errors.push(`segment '${segment}' has an unbalanced brace`);
      if (segment.includes('\\') || segment.includes('\0')) errors.push(`segment '${segment}' must not contain '\\' or NUL`);
    }
    if (!variables.has('user')) errors.push('must contain {user}, so that every user gets a directory of their own');
  }
  return { errors: [...new Set(errors)], parsed: { segments, variables } };
}

export function renderSubPath(parsed: ParsedTemplate, ids: { user: string; thread?: string }): string {
  return parsed.segments
    .map((segment) =>
      segment.replace(placeholderPattern, (_, name: string) =>
        directoryNameForId(name === 'user' ? ids.user : (ids.thread ?? '')),
      ),
    )
    .join('/');
}
