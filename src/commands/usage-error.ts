// A problem with how a command was called or configured: reported on stderr with exit code 2.
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
