// SubPath templates such as `users/{user}/threads/{thread}/user-data`, rendered with the reversible directory
// encoding of each id. Which templates are valid (relative, no '.'/'..', {user} present, one placeholder per
// segment: what keeps them injective and inside the volume) is part of the policy schema (src/policy/schema.ts).
import { directoryNameForId } from './identity-names.ts';

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
