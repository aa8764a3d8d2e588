// SubPath templates such as `users/{user}/threads/{thread}/user-data`, rendered with the reversible directory
// encoding of each id. Which templates are valid (relative, no '.'/'..', {user} present, one placeholder per
// segment: what keeps them injective and inside the volume) is part of the policy schema (src/policy/schema.ts).
import { directoryNameForId, idFromDirectoryName } from './identity-names.ts';

export type TemplateVariable = 'user' | 'thread';

export interface ParsedTemplate {
  segments: string[];
  variables: Set<TemplateVariable>;
}

const placeholderPattern = /\{(user|thread)\}/g;

export function parseSubPathTemplate(template: string): ParsedTemplate {
  const variables = new Set<TemplateVariable>();
  for (const match of template.matchAll(placeholderPattern)) variables.add(match[1] as TemplateVariable);
  return { segments: template.split('/'), variables };
}

export function renderSubPath(parsed: ParsedTemplate, ids: { user: string; thread?: string }): string {
  return parsed.segments
    .map((segment) =>
      segment.replace(placeholderPattern, (_, name: TemplateVariable) => directoryNameForId(name === 'user' ? ids.user : (ids.thread ?? ''))),
    )
    .join('/');
}

/**
 * The ids that render `path` with this template, or undefined when none does. The encoding is reversible, so this
 * finds every owner a directory can have: the isolation rules ask each owner's policy, not the Pod's labels.
 */
export function matchSubPath(parsed: ParsedTemplate, path: string): { user?: string; thread?: string } | undefined {
  const parts = path.split('/');
  if (parts.length !== parsed.segments.length) return undefined;
  const ids: { user?: string; thread?: string } = {};
  for (const [index, segment] of parsed.segments.entries()) {
    const part = parts[index] as string;
    const placeholder = /\{(user|thread)\}/.exec(segment);
    if (!placeholder) {
      if (part !== segment) return undefined;
      continue;
    }
    const before = segment.slice(0, placeholder.index);
    const after = segment.slice(placeholder.index + placeholder[0].length);
    if (part.length <= before.length + after.length || !part.startsWith(before) || !part.endsWith(after)) return undefined;
    const encoded = part.slice(before.length, part.length - after.length);
    const id = idFromDirectoryName(encoded);
    if (directoryNameForId(id) !== encoded) return undefined;
    const name = placeholder[1] as TemplateVariable;
    if (ids[name] !== undefined && ids[name] !== id) return undefined;
    ids[name] = id;
  }
  return ids;
}
