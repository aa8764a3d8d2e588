// Splits a watch stream into lines at the byte level. A newline byte never occurs inside a multi-byte UTF-8
// character, so decoding whole lines only (never a chunk) keeps a character split across chunks intact.
const newline = 0x0a;
const carriageReturn = 0x0d;

export class WatchLines {
  /** Bytes after the last newline seen, waiting for the rest of their line. */
  private partial: Buffer[] = [];

  /** Calls `line` for each complete line in `chunk` (with what earlier chunks left over), without its newline. */
  push(chunk: Buffer, line: (text: string) => void): void {
    let start = 0;
    let end = chunk.indexOf(newline, start);
    while (end !== -1) {
      if (this.partial.length > 0) {
        this.partial.push(chunk.subarray(start, end));
        const whole = Buffer.concat(this.partial);
        this.partial = [];
        emit(whole, 0, whole.length, line);
      } else {
        emit(chunk, start, end, line);
      }
      start = end + 1;
      end = chunk.indexOf(newline, start);
    }
    // Copied: a view would keep the whole chunk alive until the line completes.
    if (start < chunk.length) this.partial.push(Buffer.from(chunk.subarray(start)));
  }

  /** The stream ended: a last line without a newline still counts. */
  end(line: (text: string) => void): void {
    if (this.partial.length === 0) return;
    const rest = Buffer.concat(this.partial);
    this.partial = [];
    emit(rest, 0, rest.length, line);
  }
}

function emit(bytes: Buffer, start: number, end: number, line: (text: string) => void): void {
  const stop = end > start && bytes[end - 1] === carriageReturn ? end - 1 : end;
  if (stop > start) line(bytes.toString('utf8', start, stop));
}
