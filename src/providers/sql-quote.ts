// Quoting for SQL text. Every identifier wharf emits goes through quoteIdent, every string
// literal through quoteLiteral; nothing user-supplied is ever spliced in raw.

export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error('identifier contains a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteQualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** A standard-conforming string literal ('' doubles quotes; backslashes are literal). */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('literal contains a NUL character');
  const body = value.replace(/'/g, "''");
  // With a backslash, use an escape-string literal so the meaning does not depend on
  // standard_conforming_strings.
  return value.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

/**
 * A Redshift string literal. Redshift reads a backslash inside '…' as an escape and has no
 * E'…' strings, so both quotes and backslashes are doubled, as its QUOTE_LITERAL function does.
 */
export function quoteRedshiftLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('literal contains a NUL character');
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
