// Shrinks a shell script that travels in every Pod (the seed init container's `sh -c` argument): drops comment
// lines, blank lines and leading indentation, once at module load. Lines are never joined or split, so line
// continuations, multi-line quoted awk programs and `case` arms keep their meaning — as long as the script has no
// here-document and no quoted string in which a line's leading blanks, an empty line or a `#` line is data.
// Here-documents are refused; the rest is checked by running the seed tests against the minified form.

export function minifyShellScript(source: string): string {
  if (/<<-?\s*['"]?\w/.test(source)) throw new Error('minifyShellScript: here-documents are not supported');
  const lines = source
    .split('\n')
    .map((line) => line.trimStart())
    .filter((line) => line !== '' && !line.startsWith('#'));
  return `${lines.join('\n')}\n`;
}
