import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { smallPlan, workspace } from '../support/fixtures';
import { ROOT, write } from '../support/helpers';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** The small plan with a database rollback of `strategy` whose migrations are db/*.sql. */
function planWith(strategy: 'code-only' | 'down'): string {
  const down = strategy === 'down' ? '\n    down:\n      - name: undo\n        run: "true"' : '';
  return smallPlan({
    rollback: `    - name: back\n      run: rm -f deployed.txt\n  database:\n    strategy: ${strategy}\n    migrations: ["db/*.sql"]${down}`,
  });
}

function validate(planText: string, sql: string) {
  const ws = workspace(planText);
  write(ws.dir, 'db/001_orders.sql', sql);
  return spawnSync('node', [CLI, 'validate'], { cwd: ws.dir, encoding: 'utf8', timeout: 60_000 });
}

const DROP = 'CREATE TABLE kept (id int);\n-- DROP TABLE kept; (a comment)\nALTER TABLE orders\n  DROP COLUMN email;\n';

describe('validate reads the migrations a rollback depends on', function () {
  this.timeout(120_000);

  it('a destructive statement under code-only is an error at its file, line and column: exit 1', () => {
    const r = validate(planWith('code-only'), DROP);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(out, /db\/001_orders\.sql:4:3: error: drops column orders\.email: .*code-only/);
    assert.doesNotMatch(out, /001_orders\.sql:2:/, 'a statement inside a comment is not read');
  });

  it('the same statement with down is a warning naming what a rollback needs: exit 0', () => {
    const r = validate(planWith('down'), DROP);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /db\/001_orders\.sql:4:3: warning: drops column orders\.email: .*down steps/);
  });

  it('an additive migration passes under code-only', () => {
    const r = validate(planWith('code-only'), "ALTER TABLE orders ADD COLUMN note text NOT NULL DEFAULT '';\n");
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /001_orders\.sql:\d+:\d+: (error|warning)/);
  });
});
