/** Quoting for the shell scripts the machines receive (bash and POSIX sh alike). */

/** A value as one single-quoted shell word: `it's` -> `'it'\''s'`; the shell passes it on unchanged. */
export function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}
