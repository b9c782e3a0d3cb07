import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { planJsonSchema } from '../../src/core/plan/json-schema';
import { formatProblem, parsePlan } from '../../src/core/plan/load';
import { allKeys, type JsonSchema } from '../../src/core/plan/reference';
import type { Metric } from '../../src/core/model/schema-monitoring';
import { placeOf } from '../../src/core/plan/scope';
import { createSource } from '../../src/core/monitor/sources';
import { smallPlan } from '../support/fixtures';
import { tempDir } from '../support/helpers';

/** A key of the plan reference whose words say references are resolved in it. */
const SAYS_RESOLVED = /references are resolved/i;

/** Every text key the reference says resolves, as a dotted path with list items written `[0]` (a map's values as `.NAME`). */
function resolvedKeys(): string[] {
  const out: string[] = [];
  for (const k of allKeys(planJsonSchema() as JsonSchema)) {
    if (!SAYS_RESOLVED.test(k.schema.description ?? '')) continue;
    const p = k.path.replace(/\[\]/g, '[0]');
    if (k.schema.type === 'string') out.push(p);
    else if (k.schema.type === 'object' && typeof k.schema.additionalProperties === 'object') out.push(`${p}.NAME`);
  }
  return out;
}

const accessLogPlan = (logPath: string) =>
  smallPlan({
    monitoring: `  window: 1s
  interval: 200ms
  baseline:
    fixed: { health: 1, errors: 0 }
  metrics:
    - id: health
      command: cat health.txt
      guard: { min: 1 }
    - id: errors
      accessLog: { path: "${logPath}", statistic: errorRatio }
      guard: { max: 0.05 }`,
    extra: 'variables:\n  APACHE_DIR: /srv/apache\n',
  });

describe('plan references: where the plan reference says they resolve, validation and the run agree', () => {
  it('every text key whose reference says "references are resolved" is a place where validation resolves them', () => {
    const keys = resolvedKeys();
    assert.ok(keys.length >= 30, `only ${keys.length} keys`);
    assert.ok(keys.includes('monitoring.metrics[0].accessLog.path'), keys.join('\n'));
    assert.deepEqual(
      keys.filter((k) => placeOf(k) === 'literal'),
      [],
    );
  });

  it('accessLog.path with ${var.…}, ${env:…} or ${release.…} validates; an unknown variable there is named as such', () => {
    for (const p of ['${var.APACHE_DIR}/logs/access.log', '${env:LOG_DIR}/access.log', 'logs/${release.environment}/access.log']) {
      const r = parsePlan(accessLogPlan(p), 'plan.yaml');
      assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
    }
    const r = parsePlan(accessLogPlan('${var.APACHE_DIRS}/logs/access.log'), 'plan.yaml');
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? [] : r.problems.map((x) => x.message), ['unknown variable "${var.APACHE_DIRS}"; did you mean "${var.APACHE_DIR}"?']);
  });

  it('every metric source resolves each of its keys the reference says resolves (the source reads the resolved value)', async () => {
    const dir = tempDir('rp-resolve-');
    fs.mkdirSync(path.join(dir, 'logs'));
    fs.writeFileSync(path.join(dir, 'logs', 'access.log'), '');
    const metricKeys = resolvedKeys().filter((k) => k.startsWith('monitoring.metrics[0].'));
    const seen: string[] = [];
    const resolve = (t: string) => {
      seen.push(t);
      return t.replace('${var.DIR}', dir);
    };
    for (const key of metricKeys) {
      const [source, field] = key.slice('monitoring.metrics[0].'.length).split('.');
      const written = `\${var.DIR}/${source}${field ? `-${field}` : ''}`;
      const m = { id: 'x', guard: {}, timeout: 1000 } as unknown as Metric;
      if (!field) (m as unknown as Record<string, unknown>)[source] = written;
      else (m as unknown as Record<string, unknown>)[source] = { ...SOURCE_DEFAULTS[source], [field]: written };
      createSource(m, resolve, dir);
      assert.ok(seen.includes(written), `${key} is not resolved by its source`);
    }
    // The access log is read where the resolved path points.
    const m = { id: 'x', guard: {}, timeout: 1000, accessLog: { ...SOURCE_DEFAULTS.accessLog, path: '${var.DIR}/logs/access.log' } } as unknown as Metric;
    const src = createSource(m, resolve, '/');
    assert.match(src.describe, new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/logs/access\\.log`));
  });
});

const SOURCE_DEFAULTS: Record<string, Record<string, unknown>> = {
  prometheus: { url: 'http://127.0.0.1:9', query: 'up' },
  scrape: { url: 'http://127.0.0.1:9/metrics', metric: 'up', labels: {}, kind: 'gauge' },
  http: { url: 'http://127.0.0.1:9', field: '$.x' },
  accessLog: {
    path: 'access.log',
    format: 'combined',
    statistic: 'rate',
    errorStatus: ['5xx'],
    statusField: 'status',
    requestTimeField: 'request_time',
    maxReadMiB: 1,
  },
  stubStatus: { url: 'http://127.0.0.1:9/nginx_status', field: 'active' },
};
