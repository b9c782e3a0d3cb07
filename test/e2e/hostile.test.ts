import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Frame } from 'playwright-core';
import { host, useWorkbench } from './workbench';

const NAME = '<img src=x onerror="window.__pwned=1">app';
const COMMIT = 'feat: <script>window.__pwned=2</script> checkout';
const SECRET = 'hunter2-3f9a1c77e2b0';

describe(`hostile text and secrets in the real workbench (VS Code ${host.version})`, function () {
  // Registered before the workbench's hook, so it runs first: the last screen, taken before the window closes.
  after(async () => {
    await Promise.resolve()
      .then(() => ui.wb.shot('hostile-text'))
      .catch(() => {});
    delete process.env.RP_TOKEN;
  });

  const ui = useWorkbench({
    fixture: 'ws-basic',
    prepare: (folder) => {
      const plan = path.join(folder, '.release', 'plan.yaml');
      let text = fs.readFileSync(plan, 'utf8').replace('name: fixture-app', `name: '${NAME}'`);
      text = text.replace(
        `run: echo "LOG_LEVEL=info" > state/config.env`,
        `run: echo "token $RP_TOKEN <b onmouseover=alert(1)>bold</b>"; printf '\\033[31mred\\033[0m\\n'`,
      );
      text = text.replace('checklist:', 'secrets: [RP_TOKEN]\nchecklist:');
      fs.writeFileSync(plan, text);
      const git = (...a: string[]) => execFileSync('git', a, { cwd: folder, stdio: 'ignore' });
      git('-c', 'user.email=f@example.com', 'commit', '-qam', COMMIT);
      git('tag', '-f', 'v1.2.3');
      fs.mkdirSync(path.join(folder, 'state'), { recursive: true });
      fs.writeFileSync(path.join(folder, 'state', 'allow-deploy'), '');
      process.env.RP_TOKEN = SECRET;
    },
  });

  it('runs a release whose name, commits and output carry HTML and script', async () => {
    await ui.wb.openReleaseView();
    await ui.wb.command('Deploy: Start Release');
    await ui.wb.answerDialog('Manual check: Product owner sign-off', 'Done');
    await ui.wb.answerDialog(/Release <img src=x/, 'Release');
    await ui.wb.row(/released/).waitFor({ timeout: 60_000 });
  });

  it('shows them as text in the tree, terminal and webview, and no injected script runs', async () => {
    await ui.wb.row(NAME).waitFor();
    // The config phase's terminal printed the markup: it is shown as the characters it is.
    await ui.wb.page
      .locator('#workbench\\.parts\\.panel .terminal-tabs-entry', { hasText: 'Config update' })
      .first()
      .click()
      .catch(async () => {
        await ui.wb.page.locator('#workbench\\.parts\\.panel [aria-label*="Config update"]').first().click();
      });
    await ui.wb.terminalText('token *** <b onmouseover=alert(1)>bold</b>').waitFor({ timeout: 15_000 });
    await ui.wb.terminalText('red').waitFor();
    await ui.wb.shot('hostile-terminal');
    await ui.wb.command('Deploy: Open Release Report');
    const body = ui.wb.webview().locator('#report-body');
    await body.locator('h2', { hasText: '2. Changelog' }).waitFor({ timeout: 30_000 });
    assert.match(await body.innerText(), /<script>window\.__pwned=2<\/script> checkout/);
    assert.equal(await ui.wb.webview().locator('#release-title').innerText(), `${NAME} 1.2.3 → production`);
    assert.equal(await ui.wb.webview().locator('img[src="x"], b[onmouseover]').count(), 0, 'nothing from the release became markup');
    assert.equal(await ui.wb.webview().locator('script', { hasText: '__pwned' }).count(), 0);
    const frames: Frame[] = ui.wb.page.frames();
    for (const f of frames)
      assert.equal(await f.evaluate(() => (window as unknown as { __pwned?: number }).__pwned).catch(() => undefined), undefined, `script ran in ${f.url()}`);
    const csp = await ui.wb.webview().locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    assert.match(csp!, /^default-src 'none'; .*script-src 'nonce-[A-Za-z0-9+/=]{20,}'$/);
  });

  it('never shows the secret: terminal, webview and notifications show *** instead', async () => {
    const page = await ui.wb.page.content();
    assert.ok(!page.includes(SECRET), 'the workbench page holds no secret');
    for (const f of ui.wb.page.frames()) {
      const html = await f.content().catch(() => '');
      assert.ok(!html.includes(SECRET), `frame ${f.url()} holds the secret`);
    }
    const logs = fs.readdirSync(path.join(ui.folder, '.release', 'runs'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    for (const d of logs) assert.ok(!fs.readFileSync(path.join(d.parentPath, d.name), 'utf8').includes(SECRET), `${d.name} holds the secret`);
    assert.ok(
      logs.some((d) => fs.readFileSync(path.join(d.parentPath, d.name), 'utf8').includes('token ***')),
      'the step printed the token, masked',
    );
  });
});
