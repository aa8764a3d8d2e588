// The mapping file for a legacy layout that lacks an id: thread → user, as CSV (header `thread,user`) or JSON
// (`{"t1": "alice"}` or `[{"thread": "t1", "user": "alice"}]`). Every problem is reported at once, by line or entry.

export interface MappingResult {
  /** thread id → user id */
  users: Map<string, string>;
  errors: string[];
}

/** One CSV line into fields: commas separate, double quotes quote (`""` is a quote); undefined when a quote is open. */
function csvFields(line: string): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const character = line[index] as string;
    if (quoted) {
      if (character === '"' && line[index + 1] === '"') {
        field += '"';
        index++;
      } else if (character === '"') quoted = false;
      else field += character;
    } else if (character === '"' && field === '') quoted = true;
    else if (character === ',') {
      fields.push(field);
      field = '';
    } else field += character;
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields;
}

function add(result: MappingResult, where: string, thread: unknown, user: unknown): void {
  if (typeof thread !== 'string' || thread === '') return void result.errors.push(`${where}: thread: Required value: a non-empty string`);
  if (typeof user !== 'string' || user === '') return void result.errors.push(`${where}: user: Required value: a non-empty string`);
  const earlier = result.users.get(thread);
  if (earlier !== undefined && earlier !== user) {
    result.errors.push(`${where}: thread ${JSON.stringify(thread)} is mapped to ${JSON.stringify(earlier)} already, not also to ${JSON.stringify(user)}`);
    return;
  }
  result.users.set(thread, user);
}

function parseCsv(text: string, source: string): MappingResult {
  const result: MappingResult = { users: new Map(), errors: [] };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = csvFields(lines[0] ?? '')?.map((field) => field.trim().toLowerCase());
  const threadColumn = header?.indexOf('thread') ?? -1;
  const userColumn = header?.indexOf('user') ?? -1;
  if (threadColumn < 0 || userColumn < 0) {
    result.errors.push(`${source}:1: the header must name the columns thread and user (got ${JSON.stringify(lines[0] ?? '')})`);
    return result;
  }
  for (const [index, line] of lines.entries()) {
    if (index === 0 || line === '') continue;
    const fields = csvFields(line);
    if (!fields) {
      result.errors.push(`${source}:${index + 1}: unterminated quote`);
      continue;
    }
    add(result, `${source}:${index + 1}`, fields[threadColumn], fields[userColumn]);
  }
  return result;
}

function parseJson(text: string, source: string): MappingResult {
  const result: MappingResult = { users: new Map(), errors: [] };
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    result.errors.push(`${source}: not JSON: ${(error as Error).message}`);
    return result;
  }
  if (Array.isArray(document)) {
    for (const [index, entry] of document.entries()) {
      if (typeof entry !== 'object' || entry === null) result.errors.push(`${source}[${index}]: expected an object with thread and user`);
      else add(result, `${source}[${index}]`, (entry as Record<string, unknown>).thread, (entry as Record<string, unknown>).user);
    }
  } else if (typeof document === 'object' && document !== null) {
    for (const [thread, user] of Object.entries(document)) add(result, `${source}[${JSON.stringify(thread)}]`, thread, user);
  } else result.errors.push(`${source}: expected an object (thread → user) or a list of {thread, user}`);
  return result;
}

/** JSON when the file starts with `{` or `[` (or is named *.json), CSV otherwise. */
export function parseMapping(text: string, source: string): MappingResult {
  const json = source.endsWith('.json') || /^\s*[[{]/.test(text);
  return json ? parseJson(text, source) : parseCsv(text, source);
}
