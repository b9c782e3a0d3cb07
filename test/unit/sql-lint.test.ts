import * as assert from 'node:assert/strict';
import { lintSql } from '../../src/core/plan/sqlLint';
import { sqlStatements } from '../../src/core/plan/sqlStatements';

/** The rule, line and column of each finding. */
const found = (sql: string) => lintSql(sql).map((f) => `${f.rule}@${f.line}:${f.column}`);

describe('migration lint: what the previous version may not survive', () => {
  const flagged: [string, string, string[]][] = [
    ['a dropped table', 'DROP TABLE users;', ['drop-table@1:1']],
    ['a dropped table with IF EXISTS, lowercase', 'drop table if exists public.users cascade;', ['drop-table@1:1']],
    ['a dropped column', 'ALTER TABLE users DROP COLUMN email;', ['drop-column@1:19']],
    ['a dropped column, MySQL backticks and no COLUMN word', 'ALTER TABLE `users` DROP `email`;', ['drop-column@1:21']],
    ['a dropped column with a quoted identifier', 'ALTER TABLE "Users" DROP COLUMN IF EXISTS "E-mail";', ['drop-column@1:21']],
    ['a renamed column', 'ALTER TABLE users RENAME COLUMN email TO mail;', ['rename@1:19']],
    ['a renamed table', 'ALTER TABLE users RENAME TO people;', ['rename@1:19']],
    ['a MySQL RENAME TABLE', 'RENAME TABLE users TO people;', ['rename@1:1']],
    ['a changed type', 'ALTER TABLE users ALTER COLUMN age TYPE bigint;', ['change-type@1:36']],
    ['a changed type with SET DATA TYPE', 'alter table users alter column age set data type text;', ['change-type@1:45']],
    ['a MySQL MODIFY', 'ALTER TABLE users MODIFY age VARCHAR(10);', ['change-type@1:19']],
    ['a MySQL CHANGE', 'ALTER TABLE users CHANGE age years INT;', ['change-type@1:19']],
    ['NOT NULL added without a default', 'ALTER TABLE users ADD COLUMN plan text NOT NULL;', ['not-null@1:40']],
    ['SET NOT NULL', 'ALTER TABLE users ALTER COLUMN plan SET NOT NULL;', ['not-null@1:37']],
    ['TRUNCATE', 'TRUNCATE users;', ['truncate@1:1']],
    ['DELETE without WHERE', 'DELETE FROM sessions;', ['unfiltered-write@1:1']],
    ['UPDATE whose only WHERE is in a subquery', 'UPDATE users SET plan = (SELECT p FROM d WHERE d.id = 1);', ['unfiltered-write@1:1']],
    ['two statements on one line', 'DROP TABLE a; DROP TABLE b;', ['drop-table@1:1', 'drop-table@1:15']],
    ['two clauses of one ALTER', 'ALTER TABLE t DROP COLUMN a, DROP COLUMN b;', ['drop-column@1:15', 'drop-column@1:30']],
    ['a statement after a dollar-quoted body holding a semicolon', 'DO $$ BEGIN PERFORM 1; END $$;\nDROP TABLE x;', ['drop-table@2:1']],
    [
      'a statement after a tagged dollar body holding $$',
      'CREATE FUNCTION f() RETURNS int AS $fn$ SELECT $$;$$; $fn$ LANGUAGE sql;\nTRUNCATE t;',
      ['truncate@2:1'],
    ],
    ['a BOM and CRLF line ends', '\ufeffCREATE TABLE a (id int);\r\nALTER TABLE a DROP COLUMN id;\r\n', ['drop-column@2:15']],
    ['a statement after a nested block comment', '/* outer /* inner */ DROP TABLE hidden; */ DROP TABLE shown;', ['drop-table@1:44']],
    ['a statement without a final semicolon', 'SELECT 1;\nDROP TABLE last', ['drop-table@2:1']],
  ];
  for (const [what, sql, want] of flagged) it(`flags ${what}`, () => assert.deepEqual(found(sql), want));

  const fine: [string, string][] = [
    ['an empty file', ''],
    ['a file of comments and blank lines', '-- DROP TABLE users;\n\n/* ALTER TABLE t DROP COLUMN a */\n'],
    ['DROP inside a string', "INSERT INTO log (msg) VALUES ('DROP TABLE users; TRUNCATE x');"],
    ['DROP inside a string with a doubled quote', "INSERT INTO log VALUES ('it''s; DROP TABLE users');"],
    ['DROP inside an E string with an escaped quote', "INSERT INTO log VALUES (E'it\\'s; DROP TABLE users');"],
    ['DROP inside a dollar-quoted body', 'CREATE FUNCTION f() RETURNS void AS $$ DELETE FROM t; DROP TABLE u; $$ LANGUAGE sql;'],
    ['a column added NOT NULL with a DEFAULT', 'ALTER TABLE users ADD COLUMN x int NOT NULL DEFAULT 0;'],
    ['a nullable column added', 'ALTER TABLE users ADD COLUMN nickname text;'],
    ['a constraint dropped, and a default dropped', 'ALTER TABLE users DROP CONSTRAINT users_pk, ALTER COLUMN age DROP DEFAULT;'],
    ['DROP NOT NULL', 'ALTER TABLE users ALTER COLUMN age DROP NOT NULL;'],
    ['DELETE and UPDATE with WHERE', 'DELETE FROM s WHERE at < now(); UPDATE u SET a = 1 WHERE id = 2;'],
    ['a column named "type" set to a default', 'ALTER TABLE t ALTER COLUMN type SET DEFAULT 1;'],
    ['an index dropped concurrently', 'DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;'],
    ['a NOT NULL constraint added as a table constraint', 'ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;'],
    ['an identifier that reads like a keyword', 'CREATE TABLE "drop" ("truncate" int); INSERT INTO "drop" VALUES (1);'],
  ];
  for (const [what, sql] of fine) it(`does not flag ${what}`, () => assert.deepEqual(found(sql), []));

  it('reads a huge file in one pass, at the right line', () => {
    const body = "INSERT INTO t VALUES (1, $$a;b$$, 'c;d');\n".repeat(50_000);
    const f = lintSql(`${body}ALTER TABLE t DROP COLUMN c;\n${body}`);
    assert.deepEqual(
      f.map((x) => `${x.rule}@${x.line}:${x.column}`),
      ['drop-column@50001:15'],
    );
  });

  it('splits statements at semicolons outside strings, identifiers, bodies and comments only', () => {
    const s = sqlStatements('SELECT \';\' AS "a;b", `c;d` -- e;f\n; SELECT $x$;$x$ /* ; */;');
    assert.equal(s.length, 2);
  });

  it('says which column a drop names, unquoted', () => {
    assert.match(lintSql('ALTER TABLE "Users" DROP COLUMN "E-mail";')[0].message, /drops column Users\.E-mail/);
  });
});

describe('migration lint: a MySQL/MariaDB script read by its own rules', () => {
  const my = (sql: string) => lintSql(sql, 'mysql').map((f) => `${f.rule}@${f.line}:${f.column}`);
  const pg = (sql: string) => found(sql);
  // Each case is read differently by the two servers: what one runs, the other does not.
  const cases: [string, string, string[], string[]][] = [
    ['a backslash-escaped quote keeps DROP inside the string', "INSERT INTO log VALUES ('it\\'s; DROP TABLE users');", [], ['drop-table@1:33']],
    ['a double-quoted text is a string, where a backslash escapes', 'INSERT INTO log VALUES ("a\\"; DROP TABLE users; \\"b");', [], ['drop-table@1:31']],
    ['an escaped double quote inside a double-quoted string', 'INSERT INTO log VALUES ("say \\"hi\\"; TRUNCATE t");', [], []],
    ['`#` is a comment', 'SELECT 1 # 2; DROP TABLE users;\nSELECT 2;', [], ['drop-table@1:15']],
    ['`--` before a digit is arithmetic, not a comment', 'SELECT 1--1; DROP TABLE users;', ['drop-table@1:14'], []],
    ['`-- ` before a blank is a comment', 'SELECT 1; -- DROP TABLE users\n', [], []],
    ['`--` at the very end is a comment', 'SELECT 1; --', [], []],
    ['block comments do not nest', '/* a /* b */ DROP TABLE users; /* c */', ['drop-table@1:14'], []],
    ['an executable comment is run', '/*!50001 DROP TABLE users */;', ['drop-table@1:10'], []],
    ["MariaDB's executable comment is run", '/*M!100100 TRUNCATE users */;', ['truncate@1:12'], []],
    ['`$$` is no quote: what follows it is read', 'SELECT $$; DROP TABLE users; $$;', ['drop-table@1:12'], []],
    ['a trailing backslash does not run past the end', "INSERT INTO t VALUES ('\\", [], []],
  ];
  for (const [what, sql, wantMy, wantPg] of cases)
    it(`${what} (MySQL) — PostgreSQL reads it otherwise`, () => {
      assert.deepEqual(my(sql), wantMy);
      assert.deepEqual(pg(sql), wantPg);
    });

  it('reads the shared rules the same way: statements after strings and comments are found', () => {
    assert.deepEqual(my("INSERT INTO t VALUES ('x'); ALTER TABLE `t` DROP `c`;"), ['drop-column@1:45']);
  });
});
