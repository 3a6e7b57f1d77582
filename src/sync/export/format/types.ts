// Column types of an export: a PostgreSQL format_type() name is read once into a Kind, and
// every writer (parquet, csv, jsonl) switches on the kind. A type no kind fits is refused up
// front, before any file is opened, with the cast that would make it exportable.

export type ExportFormat = 'parquet' | 'csv' | 'jsonl';
export type ExportCompression = 'zstd' | 'snappy' | 'gzip' | 'none';

/** A column as PostgreSQL's format_type() names it (Redshift's 'super' reads like json). */
export interface ExportColumn {
  name: string;
  type: string;
}

/** A column type, or a value, that the export cannot write exactly. Names the column and what to do. */
export class ExportTypeError extends Error {
  constructor(
    readonly column: string,
    message: string,
  ) {
    super(message);
    this.name = 'ExportTypeError';
  }
}

/** How a column's values are read and written. */
export type Kind =
  | { kind: 'int16' | 'int32' | 'int64' | 'float32' | 'float64' | 'boolean' | 'string' | 'json' | 'bytes' }
  | { kind: 'date' | 'time' }
  | { kind: 'timestamp'; utc: boolean }
  /** precision/scale undefined: unconstrained numeric. */
  | { kind: 'decimal'; precision: number | undefined; scale: number | undefined }
  /** A PostgreSQL array, written as a JSON array of its elements. */
  | { kind: 'array'; element: Kind };

/** Unconstrained numeric in parquet: DECIMAL(38,9); a value that does not fit is refused. */
export const UNCONSTRAINED_NUMERIC = { precision: 38, scale: 9 } as const;
/** The widest DECIMAL the common parquet readers (DuckDB, Spark, Arrow's decimal128) take. */
export const MAX_PARQUET_PRECISION = 38;

const STRING_TYPES = new Set([
  'text',
  'character varying',
  'varchar',
  'character',
  'char',
  'bpchar',
  'name',
  '"char"',
  'citext',
  'uuid',
  'interval',
  'time with time zone',
  'timetz',
  'xml',
  'inet',
  'cidr',
  'macaddr',
  'macaddr8',
  'money',
  'bit',
  'bit varying',
]);

const SIMPLE: Record<string, Kind> = {
  smallint: { kind: 'int16' },
  int2: { kind: 'int16' },
  integer: { kind: 'int32' },
  int: { kind: 'int32' },
  int4: { kind: 'int32' },
  bigint: { kind: 'int64' },
  int8: { kind: 'int64' },
  real: { kind: 'float32' },
  float4: { kind: 'float32' },
  'double precision': { kind: 'float64' },
  float8: { kind: 'float64' },
  boolean: { kind: 'boolean' },
  bool: { kind: 'boolean' },
  json: { kind: 'json' },
  jsonb: { kind: 'json' },
  super: { kind: 'json' },
  bytea: { kind: 'bytes' },
  date: { kind: 'date' },
  'time without time zone': { kind: 'time' },
  time: { kind: 'time' },
  'timestamp without time zone': { kind: 'timestamp', utc: false },
  timestamp: { kind: 'timestamp', utc: false },
  'timestamp with time zone': { kind: 'timestamp', utc: true },
  timestamptz: { kind: 'timestamp', utc: true },
};

const castHint = (column: string) =>
  `cast it in the sync's query (e.g. ${JSON.stringify(column)}::text, or to a type listed in docs/export-formats.md)`;

/** Reads a format_type() name; throws ExportTypeError for a type no writer takes. */
export function kindOf(column: ExportColumn): Kind {
  const type = column.type.trim().toLowerCase();
  if (type.endsWith('[]')) {
    const element = kindOf({ name: column.name, type: type.replace(/(\[\])+$/, '') });
    return { kind: 'array', element };
  }
  const simple = SIMPLE[type];
  if (simple) return simple;
  // Precision modifiers: varchar(256), character(2), bit varying(8), time(3) …, timestamp(3) ….
  const bare = type.replace(/\(\s*\d+\s*\)/, '').replace(/\s+/g, ' ');
  if (STRING_TYPES.has(bare)) return { kind: 'string' };
  const timeLike = SIMPLE[bare];
  if (timeLike && (timeLike.kind === 'time' || timeLike.kind === 'timestamp')) return timeLike;
  const num = /^(?:numeric|decimal)(?:\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\))?$/.exec(type);
  if (num) {
    if (num[1] === undefined) return { kind: 'decimal', precision: undefined, scale: undefined };
    const precision = Number(num[1]);
    const scale = num[2] === undefined ? 0 : Number(num[2]);
    if (scale < 0 || scale > precision) {
      throw new ExportTypeError(
        column.name,
        `column ${JSON.stringify(column.name)} has type ${column.type}: a scale outside 0..precision has no file type; ${castHint(column.name)}`,
      );
    }
    return { kind: 'decimal', precision, scale };
  }
  throw new ExportTypeError(
    column.name,
    `column ${JSON.stringify(column.name)} has type ${column.type}, which exports cannot write; ${castHint(column.name)}`,
  );
}

/** The parquet precision and scale of a decimal column (unconstrained: UNCONSTRAINED_NUMERIC). */
export function parquetDecimal(
  column: ExportColumn,
  k: { precision: number | undefined; scale: number | undefined },
): { precision: number; scale: number } {
  if (k.precision === undefined) return UNCONSTRAINED_NUMERIC;
  if (k.precision > MAX_PARQUET_PRECISION) {
    throw new ExportTypeError(
      column.name,
      `column ${JSON.stringify(column.name)} has type ${column.type}: parquet readers take DECIMAL precision up to ${MAX_PARQUET_PRECISION}; cast it in the sync's query (e.g. ${JSON.stringify(column.name)}::numeric(38,${Math.min(k.scale ?? 0, 38)}) or ::text), or export csv/jsonl`,
    );
  }
  return { precision: k.precision, scale: k.scale ?? 0 };
}

/** Checks column names (non-empty, unique) and reads every column's kind. */
export function kindsOf(columns: readonly ExportColumn[]): Kind[] {
  const seen = new Set<string>();
  for (const c of columns) {
    if (c.name === '')
      throw new ExportTypeError(c.name, 'a column has an empty name; name it in the sync query');
    if (seen.has(c.name)) {
      throw new ExportTypeError(
        c.name,
        `column name ${JSON.stringify(c.name)} appears twice; give each column its own name in the sync's query (AS …)`,
      );
    }
    seen.add(c.name);
  }
  return columns.map(kindOf);
}

function parquetType(column: ExportColumn, k: Kind): string {
  switch (k.kind) {
    case 'int16':
      return 'INT16';
    case 'int32':
      return 'INT32';
    case 'int64':
      return 'INT64';
    case 'float32':
      return 'FLOAT';
    case 'float64':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'string':
      return 'STRING';
    case 'json':
    case 'array':
      return 'JSON';
    case 'bytes':
      return 'BINARY';
    case 'date':
      return 'DATE';
    case 'time':
      return 'TIME(MICROS, local)';
    case 'timestamp':
      return k.utc ? 'TIMESTAMP(MICROS, UTC)' : 'TIMESTAMP(MICROS, local)';
    case 'decimal': {
      const { precision, scale } = parquetDecimal(column, k);
      return `DECIMAL(${precision},${scale})`;
    }
    default:
      return assertNever(k);
  }
}

function textType(k: Kind, format: 'csv' | 'jsonl'): string {
  switch (k.kind) {
    case 'int16':
    case 'int32':
    case 'int64':
    case 'decimal':
      return 'number';
    case 'float32':
    case 'float64':
      return format === 'jsonl' ? 'number (NaN, Infinity as strings)' : 'number';
    case 'boolean':
      return 'true/false';
    case 'string':
      return 'string';
    case 'json':
      return format === 'jsonl' ? 'JSON value' : 'JSON text';
    case 'array':
      return format === 'jsonl' ? 'JSON array' : 'JSON array text';
    case 'bytes':
      return 'hex string (\\x…)';
    case 'date':
      return 'ISO 8601 date';
    case 'time':
      return 'ISO 8601 time';
    case 'timestamp':
      return k.utc ? 'ISO 8601 UTC' : 'ISO 8601 local';
    default:
      return assertNever(k);
  }
}

/** The file type each column gets (for the plan). Throws ExportTypeError for a type it cannot write. */
export function fileTypes(
  format: ExportFormat,
  columns: readonly ExportColumn[],
): { column: string; type: string }[] {
  const kinds = kindsOf(columns);
  return columns.map((c, i) => ({
    column: c.name,
    type: format === 'parquet' ? parquetType(c, kinds[i]!) : textType(kinds[i]!, format),
  }));
}

export function assertNever(x: never): never {
  throw new Error(`unexpected ${JSON.stringify(x)}`);
}
