import type { BrowserContext } from 'playwright-core';
import { host, Workbench } from './workbench';

// Only in the harness's self-check run: one UI assertion that must fail, with its screenshot.
if (process.env.RP_SELF_CHECK) {
  describe('harness self-check in the workbench (fails on purpose)', function () {
    let server: Awaited<ReturnType<typeof host.startServer>>;
    let browser: BrowserContext;
    let wb: Workbench;
    before(async () => {
      server = await host.startServer();
      browser = await host.launchBrowser(server.tmp, server.xdg);
      wb = await Workbench.open(await browser.newPage(), host.workbenchUrl(server.host, {}));
    });
    afterEach(async function () {
      if (this.currentTest?.state === 'failed') await wb.shot('FAILED-selfcheck');
    });
    after(async () => {
      await browser?.close().catch(() => {});
      await server?.stop();
    });
    it('fails on purpose: waits for a tree row that does not exist', async () => {
      await wb.row('a row no release ever shows').waitFor({ timeout: 2000 });
    });
  });
}
