import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parsePlan } from '../../src/core/plan/load';
import type { Plan } from '../../src/core/model/schema';

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLES = path.join(ROOT, 'examples');

function load(rel: string): Plan {
  const file = path.join(EXAMPLES, rel);
  const r = parsePlan(fs.readFileSync(file), file);
  if (!r.ok) throw new Error(`${rel}: ${r.problems.map((p) => `${p.line}: ${p.message}`).join('; ')}`);
  return r.plan;
}

/** kubectl's client alone: `--local` works on the manifest file, with no cluster and no API discovery. */
function kubectl(args: string[], cwd: string): string {
  return execFileSync('kubectl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

describe('the examples', () => {
  it('every example plan validates', () => {
    const plans = fs
      .readdirSync(EXAMPLES)
      .flatMap((d) =>
        fs.existsSync(path.join(EXAMPLES, d, '.release')) ? fs.readdirSync(path.join(EXAMPLES, d, '.release')).map((f) => `${d}/.release/${f}`) : [],
      )
      .filter((f) => f.endsWith('.yaml'));
    assert.ok(plans.length >= 3, plans.join(', '));
    for (const p of plans) load(p);
  });

  describe('kubernetes, checked with the real kubectl client (no cluster here)', () => {
    const dir = path.join(EXAMPLES, 'kubernetes');
    const plan = load('kubernetes/.release/plan.yaml');

    it('the revision the rollback goes back to is read by the jsonpath the plan uses', () => {
      const record = plan.phases.preparation!.steps.find((s) => /revision/i.test(s.name ?? ''))!.run;
      const jsonpath = /-o '(jsonpath=[^']+)'/.exec(record)?.[1];
      assert.ok(jsonpath, record);
      // The same expression on the manifest, through the client's local mode.
      assert.equal(kubectl(['annotate', '--local', '-f', 'k8s/deployment.yaml', 'release-pilot/checked=1', '-o', jsonpath], dir), '12');
      const undo = plan.rollback.steps[0].run;
      assert.match(undo, /rollout undo deployment\/checkout-api --to-revision="\$\(cat '\$\{run\.dir\}\/k8s-revision'\)"/);
      assert.ok(record.includes("'${run.dir}/k8s-revision'"), 'the rollback reads what the preparation wrote');
    });

    it("the deploy's set image names the manifest's container", () => {
      const set = plan.phases.deploy.steps.find((s) => s.run.includes('set image'))!.run;
      const m = /set image deployment\/(\S+) (\w+)=/.exec(set)!;
      const manifest = fs.readFileSync(path.join(dir, 'k8s/deployment.yaml'), 'utf8');
      assert.match(manifest, new RegExp(`name: ${m[1]}\\b`));
      const image = kubectl(
        [
          'set',
          'image',
          '--local',
          '-f',
          'k8s/deployment.yaml',
          `${m[2]}=registry.example.internal/checkout-api:2.3.0`,
          '-o',
          'jsonpath={.spec.template.spec.containers[0].image}',
        ],
        dir,
      );
      assert.equal(image, 'registry.example.internal/checkout-api:2.3.0');
      // A container name the manifest does not have is refused by the same client.
      assert.throws(
        () => kubectl(['set', 'image', '--local', '-f', 'k8s/deployment.yaml', 'web=x:1', '-o', 'name'], dir),
        /unable to find container named "web"/,
      );
    });

    it('the files the checklist asks for are in the example', () => {
      for (const f of ['k8s/deployment.yaml', 'k8s/configmap.yaml', 'k8s/migrate-job.yaml']) assert.ok(fs.existsSync(path.join(dir, f)), f);
      assert.ok(fs.readdirSync(path.join(dir, 'migrations')).some((f) => f.endsWith('.sql')));
      for (const f of ['k8s/configmap.yaml', 'k8s/migrate-job.yaml']) kubectl(['annotate', '--local', '-f', f, 'release-pilot/checked=1', '-o', 'name'], dir);
    });
  });

  it('helm: the rollback goes to the revision recorded before the upgrade, not to "0" (after a failed --atomic upgrade that is the failed one)', () => {
    const plan = load('helm/.release/plan.yaml');
    const record = plan.phases.preparation!.steps[0].run;
    const rollback = plan.rollback.steps.map((s) => s.run).join('\n');
    assert.match(record, /helm status billing .*--output json \| jq -e -r \.version \| tee '\$\{run\.dir\}\/helm-revision'/);
    assert.match(rollback, /helm rollback billing "\$\(cat '\$\{run\.dir\}\/helm-revision'\)"/);
    assert.doesNotMatch(rollback, /helm rollback billing 0\b/);
  });
});
