import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as vscode from 'vscode';
import { COMMANDS } from '../../src/vscode/commandIds';
import { isFinal } from '../../src/core/model/releaseState';
import { api, folder, until } from './util';

/** Runs last in this window: it commits a canary plan of its own and puts the fixture's plan back. */
describe('a canary release in the Release view', function () {
  it("shows the canary's weight and step on the deploy row while each weight is watched", async () => {
    const rp = await api();
    const planFile = path.join(folder(), '.release', 'plan.yaml');
    const original = fs.readFileSync(planFile, 'utf8');
    const verdict = path.join(folder(), 'qa', 'verdict.txt');
    const verdictText = fs.readFileSync(verdict, 'utf8');
    const allow = path.join(folder(), 'state', 'allow-deploy');
    const git = (...args: string[]) => spawnSync('git', args, { cwd: folder(), encoding: 'utf8' });
    const committed = git('show', 'HEAD:.release/plan.yaml').stdout;
    const canaryPlan = committed.replace(/version: .*/, 'version: 7.7.0').replace(
      / {2}deploy:\n {4}steps:\n[\s\S]*?\n {2}config:/,
      `  deploy:
    strategy: canary
    canary:
      deploy:
        - name: Canary gets \${release.version}
          run: test -f state/allow-deploy && echo \${release.version} > state/canary
      setWeight:
        - name: Canary weight
          run: echo \${canary.weight} >> state/weights
      weights: [20, 60]
      analysis: 3s
      promote:
        - name: Everyone gets \${release.version}
          run: echo \${release.version} > state/deployed
  config:`,
    );
    assert.match(canaryPlan, /strategy: canary/);
    const answering = rp.registerPrompter({
      confirm: async () => true,
      tickManual: async () => 'Fixture Engineer',
      notify: async () => {},
      unresolved: async () => 'Abandon…',
      abandonReason: async () => 'left by an earlier test',
    });
    try {
      fs.writeFileSync(planFile, canaryPlan);
      git('commit', '-qm', 'feat: canary release', '--', '.release/plan.yaml');
      git('tag', 'v7.7.0');
      fs.writeFileSync(allow, '');
      fs.writeFileSync(verdict, 'QA verdict: Ready for Launch\n');
      await until(() => rp.controller.plan?.ok && rp.controller.plan.plan.phases.deploy.strategy === 'canary', 10_000, 'the canary plan');
      // A run an earlier test left unfinished is given up first, as a person would.
      const left = rp.controller.state;
      if (left && !isFinal(left.status)) await vscode.commands.executeCommand(COMMANDS.abandonRelease);
      const running = vscode.commands.executeCommand<{ status: string; outcomeMessage?: string }>(COMMANDS.startRelease);
      const deployRow = () => String(rp.tree.getTreeItem({ kind: 'phase', id: 'deploy', ran: true }).description ?? '');
      const seen: string[] = [];
      for (const want of [/^running · canary 20 % \(step 1\/2\)$/, /^running · canary 60 % \(step 2\/2\)$/])
        seen.push(await until(() => want.test(deployRow()) && deployRow(), 30_000, `the deploy row to read ${want}; it read "${deployRow()}"`));
      const s = await running;
      assert.equal(s.status, 'released', s.outcomeMessage);
      assert.deepEqual(seen, ['running · canary 20 % (step 1/2)', 'running · canary 60 % (step 2/2)']);
      assert.equal(fs.readFileSync(path.join(folder(), 'state', 'weights'), 'utf8'), '20\n60\n');
      assert.doesNotMatch(deployRow(), /canary/, 'once passed, the row says passed');
    } finally {
      answering.dispose();
      fs.rmSync(allow, { force: true });
      fs.writeFileSync(planFile, original);
      fs.writeFileSync(verdict, verdictText);
    }
  });
});
