// The table of common spellings in src/plan/sql-parse.ts answers without the parser; here every
// entry is held to what the parser itself answers, so the table can never say something the
// parser would not.
import { describe, expect, it } from 'vitest';
import {
  COMMON_TYPES,
  checkExpression,
  checkTypeName,
  isNullDefault,
  parsedAsNull,
  parseExpression,
  parseTypeName,
} from '../src/plan/sql-parse.js';

const spellings = (word: string) => [
  word,
  word.toUpperCase(),
  ` ${word}\n`,
  word.replace(/^./, (c) => c.toUpperCase()),
];

describe('common type names', () => {
  for (const [name, entry] of Object.entries(COMMON_TYPES)) {
    it(`${name}: the table answers as the parser does`, () => {
      const mods = ['', '(12)', '(12,3)', '(0)', '(007)', '(123456789)'];
      for (const m of mods) {
        const count = m === '' ? 0 : m.split(',').length;
        for (const s of spellings(name)) {
          const text = `${s.replace(/\n$/, '')}${m}`;
          const parser = parseTypeName(text);
          const table = checkTypeName(text);
          if (count <= entry.mods) {
            // Within the table's reach: it must answer, and exactly as the parser.
            expect(parser, text).toMatchObject({ ok: true });
            expect(table, text).toEqual(parser);
          } else {
            // Beyond it the parser decides, whatever it says.
            expect(table, text).toEqual(parser);
          }
        }
      }
    });
  }

  it('spellings outside the table still reach the parser', () => {
    for (const text of [
      'bigint(5)',
      'double  precision',
      'varchar(1,2)',
      'text[]',
      'ｂｉｇｉｎｔ',
      'bigint -- x',
      'int\u00a0',
    ]) {
      expect(checkTypeName(text), text).toEqual(parseTypeName(text));
    }
    expect(checkTypeName('bigint(5)').ok).toBe(false);
    expect(checkTypeName('bigint -- x').ok).toBe(false);
  });
});

describe('common defaults', () => {
  const samples = [
    'NULL',
    'null',
    ' Null ',
    'true',
    'FALSE',
    '0',
    '-1',
    '42',
    '3.14',
    '-0.5',
    '123456789012345678',
    "''",
    "'x'",
    "'Hello  World'",
    "'tab\there'",
    'CURRENT_TIMESTAMP',
    'current_date',
    'CURRENT_TIME',
    'localtimestamp',
    'LOCALTIME',
    'now()',
    'NOW()',
    'getdate()',
    '\n0\n',
  ];
  for (const text of samples) {
    it(`${JSON.stringify(text)}: accepted, and NULL or not, as the parser says`, () => {
      expect(parseExpression(text)).toEqual({ ok: true });
      expect(checkExpression(text)).toEqual({ ok: true });
      expect(isNullDefault(text)).toBe(parsedAsNull(text));
    });
  }

  it('anything else reaches the parser', () => {
    for (const text of [
      "'it''s'",
      "E'x'",
      "'a\\b'",
      '1; DROP TABLE t',
      "'x' -- c",
      '(SELECT 1)',
      'now() + 1',
      'NULL::int',
    ]) {
      expect(checkExpression(text), text).toEqual(parseExpression(text));
      expect(isNullDefault(text), text).toBe(parsedAsNull(text));
    }
    expect(checkExpression('1; DROP TABLE t').ok).toBe(false);
    expect(checkExpression('(SELECT 1)').ok).toBe(false);
    expect(isNullDefault('NULL::int')).toBe(true);
  });
});
