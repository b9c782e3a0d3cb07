import { useWorkbench } from './workbench';

// Only in the harness's self-check run: one UI assertion that must fail, with its screenshot.
if (process.env.RP_SELF_CHECK) {
  describe('harness self-check in the workbench (fails on purpose)', function () {
    // An empty window: no folder.
    const ui = useWorkbench({ open: () => undefined });
    afterEach(async function () {
      if (this.currentTest?.state === 'failed') await ui.wb.shot('FAILED-selfcheck');
    });
    it('fails on purpose: waits for a tree row that does not exist', async () => {
      await ui.wb.row('a row no release ever shows').waitFor({ timeout: 2000 });
    });
  });
}
