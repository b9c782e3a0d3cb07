import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { host, useWorkbench } from './workbench';

// The fixture's release, deployed blue-green: the rollback's names hold the colours, which only the run knows.
const BLUE_GREEN = `  deploy:
    strategy: blue-green
    blueGreen:
      active: cat state/active
      deploy:
        - name: Start \${deploy.color} on \${release.version}
          run: echo \${release.version} > state/\${deploy.color} && echo \${release.version} > state/deployed
      healthCheck:
        run: test -f state/\${deploy.color}
        retries: 0
      switch:
        - name: Switch traffic to \${deploy.color}
          run: echo \${deploy.color} > state/active
`;
const ROLLBACK = `rollback:
  steps:
    - name: Switch traffic back to \${deploy.active}
      run: echo \${deploy.active} > state/active
    - name: Stop \${deploy.color}
      run: rm -f state/\${deploy.color}
`;

describe(`the rollback confirmation shows the names the run resolved (VS Code ${host.version})`, function () {
  const ui = useWorkbench({
    fixture: 'ws-basic',
    prepare: (folder) => {
      const planFile = path.join(folder, '.release', 'plan.yaml');
      const plan = fs.readFileSync(planFile, 'utf8');
      const deployAt = plan.indexOf('  deploy:\n');
      const configAt = plan.indexOf('  config:\n');
      const rollbackAt = plan.indexOf('rollback:\n');
      const monitoringAt = plan.indexOf('monitoring:\n');
      fs.writeFileSync(planFile, plan.slice(0, deployAt) + BLUE_GREEN + plan.slice(configAt, rollbackAt) + ROLLBACK + '\n' + plan.slice(monitoringAt));
      fs.mkdirSync(path.join(folder, 'state'), { recursive: true });
      fs.writeFileSync(path.join(folder, 'state', 'active'), 'blue\n');
      // The git gate wants a clean tree tagged with the version.
      const git = (...a: string[]) =>
        execFileSync('git', ['-c', 'user.email=f@example.com', '-c', 'commit.gpgsign=false', ...a], { cwd: folder, stdio: 'ignore' });
      git('commit', '-qam', 'feat: blue-green');
      git('tag', '-f', 'v1.2.3');
    },
    shots: 'scope-',
  });

  it('releases blue-green to green, then the rollback dialog names blue and green, as the tree and the terminal do', async () => {
    await ui.wb.openReleaseView();
    await ui.wb.command('Deploy: Start Release');
    await ui.wb.answerDialog('Manual check: Product owner sign-off', 'Done');
    await ui.wb.answerDialog('Release fixture-app 1.2.3 to production?', 'Release');
    await ui.wb.row(/fixture-app 1\.2\.3.*released/).waitFor({ timeout: 90_000 });
    await ui.wb.row('Switch traffic to green').waitFor();
    assert.equal(fs.readFileSync(path.join(ui.folder, 'state', 'active'), 'utf8').trim(), 'green');

    await ui.wb.command('Deploy: Roll Back');
    const dialog = ui.wb.page.locator('.monaco-dialog-box', { hasText: 'Roll back fixture-app 1.2.3 on production?' });
    await dialog.waitFor({ timeout: 30_000 });
    const text = await dialog.innerText();
    await ui.wb.shot('scope-rollback-dialog');
    assert.ok(!text.includes('${'), `no raw template in the dialog: ${text}`);
    assert.match(text, /1\. Switch traffic back to blue/);
    assert.match(text, /2\. Stop green/);

    await dialog.getByRole('button', { name: 'Roll Back', exact: true }).click();
    await ui.wb.typeInput('scope test: the dialog named what runs');
    await ui.wb.row(/fixture-app 1\.2\.3.*rolled-back/).waitFor({ timeout: 60_000 });
    // The tree and the terminal show the same names the person approved.
    await ui.wb.row('Switch traffic back to blue').waitFor();
    await ui.wb.row('Stop green').waitFor();
    await ui.wb.terminalText(/Switch traffic back to blue|Stop green|rolled back/).waitFor({ timeout: 15_000 });
    assert.equal(fs.readFileSync(path.join(ui.folder, 'state', 'active'), 'utf8').trim(), 'blue');
  });
});
