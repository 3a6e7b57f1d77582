// The vendors' column conventions for bucket exports: an export destination that declares
// `conventions: <name>` has its columns checked here before any file is written, so a schema
// the vendor would reject (or silently misread) is a plan finding, not a failed import days
// later. Pure: the caller reads the export's columns from the catalog and passes them in.
// Each rule states the vendor's published schema; docs/export-conventions.md says the same in
// plain words, and the two must change together.

export const EXPORT_CONVENTIONS = [
  'statsig-events',
  'statsig-metrics',
  'toplyne-events',
  'toplyne-profiles',
] as const;
export type ExportConvention = (typeof EXPORT_CONVENTIONS)[number];

export interface ConventionFinding {
  /** The column the finding is about, missing or present; absent for whole-export findings. */
  column?: string;
  severity: 'error' | 'warning';
  message: string;
}

/** An export column: name folded lower-case and type as format_type() prints it. */
export interface ExportColumn {
  name: string;
  type: string;
}

/** Statsig refuses metric names of 128 characters or more. */
const STATSIG_NAME_LIMIT = 128;

type Family = 'string' | 'date' | 'timestamp' | 'double' | 'number' | 'json' | 'other';

/**
 * The family of a format_type() name, and for character types their declared length (a
 * character(n) also pads). `text` and unbounded `character varying` have no length.
 */
function classify(type: string): { family: Family; length?: number; padded?: boolean } {
  if (type.endsWith('[]')) return { family: 'other' };
  const m = /^(character varying|character|varchar|char|bpchar|nvarchar|nchar)(?:\((\d+)\))?$/.exec(type);
  if (m) {
    const padded = m[1] === 'character' || m[1] === 'char' || m[1] === 'bpchar' || m[1] === 'nchar';
    return { family: 'string', length: m[2] === undefined ? undefined : Number(m[2]), padded };
  }
  if (type === 'text' || type === 'name') return { family: 'string' };
  if (type === 'date') return { family: 'date' };
  if (/^timestamp(\(\d+\))? with(out)? time zone$/.test(type)) return { family: 'timestamp' };
  if (type === 'double precision') return { family: 'double' };
  if (/^(smallint|integer|bigint|real|numeric(\(\d+(,\s*\d+)?\))?)$/.test(type)) return { family: 'number' };
  if (type === 'json' || type === 'jsonb' || type === 'super') return { family: 'json' };
  return { family: 'other' };
}

/** A column reference as the sync's query would write it: always quoted. */
function q(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A required column is absent; `need` says what the vendor uses it for. */
function missing(column: string, need: string, severity: 'error' | 'warning' = 'error'): ConventionFinding {
  return { column, severity, message: `${column} is missing: ${need}; add it to the export` };
}

/** Statsig: the column is present and a string; a padded character(n) is a warning. */
function needString(
  cols: Map<string, string>,
  name: string,
  why: string,
  out: ConventionFinding[],
  matchNote: string,
): void {
  const type = cols.get(name);
  if (type === undefined) {
    out.push(missing(name, why));
    return;
  }
  const c = classify(type);
  if (c.family !== 'string')
    out.push({
      column: name,
      severity: 'error',
      message: `${name} is ${type}, but Statsig reads it as a string; cast it in the sync's query: ${q(name)}::varchar`,
    });
  else if (c.padded)
    out.push({
      column: name,
      severity: 'warning',
      message: `${name} is ${type}, which pads values with trailing spaces; ${matchNote}; cast it in the sync's query: rtrim(${q(name)})::varchar`,
    });
}

/** A name column Statsig limits to fewer than 128 characters: a string, and declared short enough. */
function needShortName(cols: Map<string, string>, name: string, why: string, out: ConventionFinding[]): void {
  const type = cols.get(name);
  if (type === undefined) {
    out.push(missing(name, why));
    return;
  }
  const c = classify(type);
  if (c.family !== 'string')
    out.push({
      column: name,
      severity: 'error',
      message: `${name} is ${type}, but Statsig reads it as a string; cast it in the sync's query: ${q(name)}::varchar(${STATSIG_NAME_LIMIT - 1})`,
    });
  else if (c.length === undefined || c.length >= STATSIG_NAME_LIMIT)
    out.push({
      column: name,
      severity: 'warning',
      message: `${name} is ${type}, which allows names of ${STATSIG_NAME_LIMIT} characters or more, and Statsig requires fewer; make sure every value is shorter, or declare it as varchar(${STATSIG_NAME_LIMIT - 1}) in the sync's query`,
    });
}

/**
 * Statsig's S3 events: the columns its guide for S3 ingestion names with their rules, a
 * `timestamp` of the event as a UTC timestamp and an `event_name` under 128 characters
 * (https://docs.statsig.com/integrations/data-imports/redshift). Other columns (the unit ids,
 * a value, metadata) are passed through unchecked.
 */
function checkStatsigEvents(cols: Map<string, string>): ConventionFinding[] {
  const out: ConventionFinding[] = [];
  const ts = cols.get('timestamp');
  if (ts === undefined) out.push(missing('timestamp', 'Statsig needs the time of each event'));
  else if (classify(ts).family !== 'timestamp')
    out.push({
      column: 'timestamp',
      severity: 'error',
      message: `timestamp is ${ts}, but Statsig reads the time of an event as a UTC timestamp; convert it in the sync's query, e.g. ${classify(ts).family === 'number' ? `to_timestamp(${q('timestamp')})` : `${q('timestamp')}::timestamptz`}`,
    });
  needShortName(cols, 'event_name', 'Statsig needs the name of each event', out);
  return out;
}

function checkStatsigMetrics(cols: Map<string, string>): ConventionFinding[] {
  const out: ConventionFinding[] = [];
  const sameAsLogged = 'Statsig matches unit ids exactly as your logged unit_ids';
  needString(
    cols,
    'unit_id',
    'Statsig needs the unit (user or custom id) each metric is for',
    out,
    sameAsLogged,
  );
  needString(
    cols,
    'id_type',
    'Statsig needs the id type of unit_id (user_id, stable_id or a custom id type of your project)',
    out,
    'Statsig matches id types case-sensitively against your project',
  );
  const date = cols.get('date');
  if (date === undefined) out.push(missing('date', 'Statsig needs the day each metric belongs to'));
  else {
    const f = classify(date).family;
    if (f !== 'string' && f !== 'date')
      out.push({
        column: 'date',
        severity: 'error',
        message: `date is ${date}, but Statsig reads the metric's day as a string or an ISO date; cast it in the sync's query: ${q('date')}::date`,
      });
  }
  needShortName(cols, 'metric_name', 'Statsig needs the name of each metric', out);
  const value = ['metric_value', 'numerator', 'denominator'].filter((c) => cols.has(c));
  const hasValue = cols.has('metric_value');
  const ratio = cols.has('numerator') && cols.has('denominator');
  if (!hasValue && !ratio) {
    const lone = cols.has('numerator') ? 'numerator' : cols.has('denominator') ? 'denominator' : undefined;
    out.push({
      column: lone === undefined ? 'metric_value' : lone === 'numerator' ? 'denominator' : 'numerator',
      severity: 'error',
      message:
        lone === undefined
          ? 'metric_value is missing: Statsig needs metric_value, or both numerator and denominator, to process a metric; add them to the export'
          : `${lone} has no partner: Statsig needs metric_value, or both numerator and denominator; add ${lone === 'numerator' ? 'denominator' : 'numerator'} (or metric_value) to the export`,
    });
  } else if (cols.has('numerator') !== cols.has('denominator')) {
    const lone = cols.has('numerator') ? 'numerator' : 'denominator';
    out.push({
      column: lone,
      severity: 'warning',
      message: `${lone} is exported without ${lone === 'numerator' ? 'denominator' : 'numerator'}: Statsig treats a metric as a ratio only when both are present, so ${lone} is ignored; add the other or drop it`,
    });
  } else {
    // Statsig's guide: send the value columns you omit as cast(null as double).
    for (const absent of ['metric_value', 'numerator', 'denominator'].filter((c) => !cols.has(c)))
      out.push({
        column: absent,
        severity: 'warning',
        message: `${absent} is missing: Statsig asks for the value columns you do not use as null doubles; add it in the sync's query: cast(null as double precision) as ${q(absent)}`,
      });
  }
  for (const c of value) {
    const type = cols.get(c)!;
    if (classify(type).family !== 'double')
      out.push({
        column: c,
        severity: 'error',
        message: `${c} is ${type}, but Statsig reads it in double format; cast it in the sync's query: ${q(c)}::double precision`,
      });
  }
  return out;
}

/** A required Toplyne column that must hold a timestamp. */
function needTimestamp(
  cols: Map<string, string>,
  name: string,
  what: string,
  out: ConventionFinding[],
  severity: 'error' | 'warning' = 'error',
): void {
  const type = cols.get(name);
  if (type === undefined) {
    out.push(missing(name, `Toplyne needs ${what}`, severity));
    return;
  }
  if (classify(type).family !== 'timestamp')
    out.push({
      column: name,
      severity,
      message: `${name} is ${type}, but it is ${what} and must be a timestamp; cast it in the sync's query: ${q(name)}::timestamp`,
    });
}

function needPartition(partitionBy: string | undefined, column: string, kind: string): ConventionFinding[] {
  if (partitionBy === column) return [];
  return [
    {
      column: partitionBy ?? column,
      severity: 'warning',
      message:
        partitionBy === undefined
          ? `the export is not partitioned: Toplyne asks for ${kind} data partitioned on ${column}; set the destination's partition to ${column}`
          : `the export is partitioned on ${partitionBy}: Toplyne asks for ${kind} data partitioned on ${column}; partition on ${column} instead`,
    },
  ];
}

const UPDATED_AT_WHAT = 'the UTC time each row was added or last changed (not the event time)';

function checkToplyneEvents(cols: Map<string, string>, partitionBy?: string): ConventionFinding[] {
  const out: ConventionFinding[] = [];
  for (const [name, what] of [
    ['user_id', 'the user who performed each event'],
    ['event_name', 'the name of each event'],
  ] as const)
    if (!cols.has(name)) out.push(missing(name, `Toplyne needs ${what}`));
  if (!cols.has('account_id'))
    out.push({
      column: 'account_id',
      severity: 'warning',
      message:
        "account_id is missing: Toplyne's account-level analytics need the account each user belongs to; add it if you want them",
    });
  needTimestamp(cols, 'timestamp', 'the time each event occurred', out);
  needTimestamp(cols, 'updated_at', UPDATED_AT_WHAT, out);
  const props = cols.get('event_properties');
  if (props !== undefined) {
    const f = classify(props).family;
    if (f !== 'json' && f !== 'string')
      out.push({
        column: 'event_properties',
        severity: 'warning',
        message: `event_properties is ${props}: Toplyne expects JSON key/value pairs there; export a JSON object (e.g. json_build_object(...) on PostgreSQL, object(...) on Redshift)`,
      });
  }
  out.push(...needPartition(partitionBy, 'timestamp', 'event'));
  return out;
}

function checkToplyneProfiles(cols: Map<string, string>, partitionBy?: string): ConventionFinding[] {
  const out: ConventionFinding[] = [];
  if (!cols.has('user_id') && !cols.has('account_id'))
    out.push({
      column: 'user_id',
      severity: 'error',
      message:
        'user_id or account_id is missing: Toplyne needs the key of the user or account each row describes; add one to the export',
    });
  needTimestamp(cols, 'updated_at', UPDATED_AT_WHAT, out);
  for (const name of ['user_creation_time', 'account_creation_time'])
    if (cols.has(name)) needTimestamp(cols, name, 'the time the entity became active', out, 'warning');
  out.push(...needPartition(partitionBy, 'updated_at', 'profile'));
  return out;
}

/**
 * The export's columns against the convention's published schema. Errors are schemas the
 * vendor cannot process; warnings are departures it tolerates but that lose something.
 * `columns` come as the catalog returns them: names folded lower-case, types in format_type()
 * spelling. `partitionBy` is the export's partition column, folded, if any.
 */
export function checkConventions(
  convention: ExportConvention,
  columns: readonly ExportColumn[],
  partitionBy?: string,
): ConventionFinding[] {
  const cols = new Map(columns.map((c) => [c.name, c.type]));
  switch (convention) {
    case 'statsig-metrics':
      return checkStatsigMetrics(cols);
    case 'statsig-events':
      return checkStatsigEvents(cols);
    case 'toplyne-events':
      return checkToplyneEvents(cols, partitionBy);
    case 'toplyne-profiles':
      return checkToplyneProfiles(cols, partitionBy);
    default: {
      const never: never = convention;
      throw new Error(`unknown export convention ${String(never)}`);
    }
  }
}

/** One line for the plan: what the convention requires. */
export function describeConvention(convention: ExportConvention): string {
  switch (convention) {
    case 'statsig-metrics':
      return `Statsig metrics: unit_id, id_type and metric_name (under ${STATSIG_NAME_LIMIT} characters) as strings, date as a string or date, and metric_value or numerator + denominator as double precision`;
    case 'statsig-events':
      return `Statsig events: timestamp (a UTC timestamp) and event_name (a string under ${STATSIG_NAME_LIMIT} characters)`;
    case 'toplyne-events':
      return 'Toplyne events: user_id, event_name, timestamp and updated_at (timestamps), account_id for account-level analytics, optional event_properties as JSON; partitioned on timestamp';
    case 'toplyne-profiles':
      return 'Toplyne profiles: user_id or account_id, updated_at (timestamp), optional user/account_creation_time (timestamps), one column per profile property; partitioned on updated_at';
    default: {
      const never: never = convention;
      throw new Error(`unknown export convention ${String(never)}`);
    }
  }
}
