import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { previewGates, previewRelease } from '../../src/core/engine/queries/releasePreview';
import { parsePlan } from '../../src/core/plan/load';
import { Release } from '../../src/core/engine/run/engine';
import { smallPlan, workspace } from '../support/fixtures';

const CHECKLIST = `  - id: migration-script
    title: Migration script present
    files: [migrations/*.sql]
  - id: notes
    title: Release notes written
    files: [NOTES.md]
  - id: lint
    title: Lints
    run: touch lint-ran.txt
  - id: sign-off
    title: Sign-off
    manual: true`;

describe('Preview Release: what a release would do, and the gates as they stand, with nothing of the plan run', () => {
  it('evaluates the verdict file and checklist files, names commands and manual ticks without running them', async () => {
    const ws = workspace(smallPlan({ checklist: CHECKLIST }));
    const loaded = parsePlan(fs.readFileSync(ws.planFile), ws.planFile);
    assert.ok(loaded.ok);
    const gates = await previewGates(loaded.plan, ws.dir, { version: '1.2.3' });
    assert.deepEqual(
      gates.map((g) => [g.gate, g.state]),
      [
        ['acceptance', 'open'],
        ['checklist migration-script', 'open'],
        ['checklist notes', 'blocked'],
        ['checklist lint', 'not evaluated'],
        ['checklist sign-off', 'not evaluated'],
      ],
    );
    assert.match(gates[2].detail, /nothing matches NOTES\.md/);
    assert.match(gates[3].detail, /a command, which a preview does not run: \$ touch lint-ran\.txt/);

    const text = await previewRelease(ws.dir, loaded.plan, '.release/plan.yaml', loaded.text);
    assert.match(text, /^Dry run of tiny 1\.2\.3 → production/);
    assert.match(text, /Gates now \(evaluated, nothing run\):\n {2}✓ acceptance: open — verdict "Ready for Launch"/);
    assert.match(text, /✗ checklist notes: blocked — nothing matches NOTES\.md/);
    // Nothing of the plan ran: no step, no checklist command.
    for (const f of ['lint-ran.txt', 'prepared.txt', 'deployed.txt', 'announced.txt']) assert.ok(!fs.existsSync(path.join(ws.dir, f)), f);
    assert.ok(!fs.existsSync(path.join(ws.dir, '.release', 'runs')), 'no run was created');
  });

  it('a verdict that says no blocks the gate, quoted; a verdict command is not run; untrusted evaluates nothing', async () => {
    const ws = workspace(smallPlan({ checklist: CHECKLIST }), { 'verdict.txt': 'QA verdict: NOT Ready for Launch — 3 blockers\n' });
    const loaded = parsePlan(fs.readFileSync(ws.planFile), ws.planFile);
    assert.ok(loaded.ok);
    const [acceptance] = await previewGates(loaded.plan, ws.dir, { version: '1.2.3' });
    assert.equal(acceptance.state, 'blocked');
    assert.match(acceptance.detail, /not a go.*NOT Ready for Launch/);

    const byCommand = workspace(smallPlan({ acceptance: "command: 'touch verdict-ran.txt; echo Ready for Launch'" }));
    const cmd = parsePlan(fs.readFileSync(byCommand.planFile), byCommand.planFile);
    assert.ok(cmd.ok);
    const [fromCommand] = await previewGates(cmd.plan, byCommand.dir, { version: '1.2.3' });
    assert.deepEqual([fromCommand.state, fromCommand.detail], ['not evaluated', 'the verdict comes from a command, which a preview does not run']);
    assert.ok(!fs.existsSync(path.join(byCommand.dir, 'verdict-ran.txt')));

    const untrusted = await previewRelease(ws.dir, loaded.plan, '.release/plan.yaml', loaded.text, { evaluateGates: false });
    assert.match(untrusted, /Gates: not evaluated \(the workspace is not trusted\)\.$/);
  });

  it('names what Start Release itself would refuse: an unset ${env:…}, and a version this plan released', async () => {
    const plan = smallPlan({ deploy: '    steps:\n      - name: deploy\n        run: echo "version 1.2.3 ${env:RP_PREVIEW_TOKEN}" > deployed.txt' });
    const ws = workspace(plan);
    const loaded = parsePlan(plan, ws.planFile);
    assert.ok(loaded.ok);
    delete process.env.RP_PREVIEW_TOKEN;
    const unset = await previewRelease(ws.dir, loaded.plan, '.release/plan.yaml', plan);
    assert.match(
      unset,
      /✗ environment: blocked — an environment variable the plan reads is not set, so nothing was started: RP_PREVIEW_TOKEN \(\.release\/plan\.yaml:\d+\)/,
    );
    assert.doesNotMatch(unset, /version: blocked/);

    process.env.RP_PREVIEW_TOKEN = 'a-token-long-enough';
    try {
      const set = await previewRelease(ws.dir, loaded.plan, '.release/plan.yaml', plan);
      assert.match(set, /✓ environment: open — every variable the plan reads is set \(RP_PREVIEW_TOKEN\)/);
      assert.ok(!set.includes('a-token-long-enough'), 'the preview shows no value');
      const released = await (await Release.start(ws.options())).run();
      assert.equal(released.status, 'released', released.outcomeMessage);
      const again = await previewRelease(ws.dir, loaded.plan, '.release/plan.yaml', plan);
      assert.match(again, new RegExp(`✗ version: blocked — tiny 1\\.2\\.3 was released to production in run ${released.runId}`));
    } finally {
      delete process.env.RP_PREVIEW_TOKEN;
    }
  });
});
