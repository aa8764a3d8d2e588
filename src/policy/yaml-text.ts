// YAML (and so JSON) text read from a file, with errors that say where: `FILE:LINE:COL: message`, one per line,
// and `FILE: cannot read: reason` for a file that cannot be read. Shared by policy files and review's inputs.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';

export interface YamlDocument {
  /** 1-based, as people count documents. */
  index: number;
  /** The document's value; undefined with `problem` when it has a syntax error or cannot be built. */
  value?: unknown;
  problem?: string;
}

/** Why a file could not be read, without Node's restatement of the path: `ENOENT: no such file or directory`. */
export function readProblem(file: string, error: unknown): string {
  const message = (error as Error).message.replace(/, \w+ '[^']*'$/, '');
  return `${file}: cannot read: ${message}`;
}

export async function readTextFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(readProblem(file, error));
  }
}

/** Every document of `text`; a document with errors carries them as `FILE:LINE:COL: message` lines. */
export function yamlDocuments(text: string, source: string): YamlDocument[] {
  const lineCounter = new LineCounter();
  // An empty stream is an empty array (with stream information).
  const documents: Document[] = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  return documents.map((document, position) => {
    const index = position + 1;
    if (document.errors.length > 0) {
      const problem = document.errors
        .map((error) => {
          const { line, col } = lineCounter.linePos(error.pos[0]);
          return `${source}:${line}:${col}: ${firstLine(error.message)}`;
        })
        .join('\n');
      return { index, problem };
    }
    try {
      return { index, value: document.toJS() as unknown };
    } catch (error) {
      // e.g. an alias bomb: the yaml library refuses to expand more than a bounded number of aliases.
      const start = document.contents?.range?.[0] ?? 0;
      const { line, col } = lineCounter.linePos(start);
      return { index, problem: `${source}:${line}:${col}: ${firstLine((error as Error).message)}` };
    }
  });
}

function firstLine(message: string): string {
  return message.split('\n')[0]?.trim() ?? message;
}
