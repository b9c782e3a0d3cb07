// Helpers for driving the real VS Code workbench in Chromium with Playwright.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext, Page, Locator, FrameLocator } from 'playwright-core';

export interface Host {
  version: string;
  root: string;
  results: string;
  prepareWorkspace(fixture: string): string;
  startServer(o?: { trust?: boolean }): Promise<{ host: string; tmp: string; xdg: Record<string, string>; stop(): Promise<void> }>;
  launchBrowser(tmp: string, xdg: Record<string, string>): Promise<BrowserContext>;
  workbenchUrl(host: string, o: { folder?: string }): string;
}

export const host = (globalThis as unknown as { __releasePilotHost: Host }).__releasePilotHost;

/** code-server, Chromium and the workbench opened on a folder: what every UI test file starts in its `before`. */
export class Session {
  private constructor(
    private readonly server: Awaited<ReturnType<Host['startServer']>>,
    private readonly browser: BrowserContext,
    readonly wb: Workbench,
  ) {}

  static async open(folder?: string): Promise<Session> {
    const server = await host.startServer();
    let browser: BrowserContext | undefined;
    try {
      browser = await host.launchBrowser(server.tmp, server.xdg);
      return new Session(server, browser, await Workbench.open(await browser.newPage(), host.workbenchUrl(server.host, { folder })));
    } catch (e) {
      await browser?.close().catch(() => {});
      await server.stop();
      throw e;
    }
  }

  /** Closes the browser, then stops code-server and what it started. (A failed test's screenshot is taken by the host's root hook.) */
  async close(): Promise<void> {
    await this.browser.close().catch(() => {});
    await this.server.stop();
  }
}

/** What a UI test file works with once its `before` opened the workbench. */
export interface OpenWorkbench {
  readonly wb: Workbench;
  /** The folder the workbench opened (undefined for an empty window). */
  readonly folder: string;
}

/**
 * The one set-up and tear-down of a UI test file, registered as its `before` and `after`. Before: either
 * a copy of `fixture` (test/fixtures) that `prepare` edits, or the folder `open` returns (one something
 * else owns, such as the demo's environment; none for an empty window); then code-server, Chromium and
 * the workbench open on it. After: the workbench closes, then `cleanUp` stops what `open` started, and
 * the fixture's copy is removed. With `shots`, every test's last screen is saved as `<shots><test title>`
 * (`FAILED-` first when it failed).
 */
export function useWorkbench(
  o: (
    | { fixture: string; prepare?: (folder: string) => Promise<void> | void }
    | { open: () => Promise<string | undefined> | string | undefined; cleanUp?: () => Promise<void> | void }
  ) & { shots?: string },
): OpenWorkbench {
  let session: Session | undefined;
  let copy: string | undefined;
  let folder: string | undefined;
  before(async () => {
    if ('fixture' in o) {
      folder = copy = host.prepareWorkspace(o.fixture);
      await o.prepare?.(copy);
    } else folder = await o.open();
    session = await Session.open(folder);
  });
  if (o.shots !== undefined) {
    const prefix = o.shots;
    afterEach(async function () {
      const name = (this.currentTest?.title ?? 'test')
        .replace(/[^a-z0-9]+/gi, '-')
        .toLowerCase()
        .slice(0, 60);
      await session?.wb.shot(`${this.currentTest?.state === 'failed' ? 'FAILED-' : ''}${prefix}${name}`).catch(() => {});
    });
  }
  after(async () => {
    await session?.close();
    if ('cleanUp' in o) await o.cleanUp?.();
    if (copy) fs.rmSync(copy, { recursive: true, force: true });
  });
  return {
    get wb() {
      if (!session) throw new Error('the workbench is not open yet: use it in a test, or in a hook registered after useWorkbench');
      return session.wb;
    },
    get folder() {
      if (folder === undefined) throw new Error('no folder: the workbench is not open yet, or opened an empty window');
      return folder;
    },
  };
}

export class Workbench {
  constructor(readonly page: Page) {}

  static async open(page: Page, url: string): Promise<Workbench> {
    // The page a failed test's screenshot is taken of (test/host/run.mjs).
    (globalThis as { __releasePilotPage?: Page }).__releasePilotPage = page;
    const lines: string[] = ((globalThis as { __releasePilotConsole?: string[] }).__releasePilotConsole = []);
    page.on('console', (m) => {
      lines.push(`${new Date().toISOString()} ${m.type()} ${m.text()}`);
      if (lines.length > 300) lines.splice(0, lines.length - 300);
    });
    // The page's load, like the workbench after it, gets a minute: a fresh-clone CI run saw it take
    // over Playwright's default 30 s while the fleet's tests loaded the machine.
    await page.goto(url, { timeout: 60_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    const wb = new Workbench(page);
    return wb;
  }

  async shot(name: string): Promise<string> {
    const file = path.join(host.results, `${name}.png`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Runs a command from the palette (F1). The palette lists what is enabled when it opens, so it is reopened until the command shows. */
  /** Runs a command from the palette; `asks`: the command opens a quick input of its own, which stays. */
  async command(title: string, timeout = 30_000, then: 'closes' | 'asks' = 'closes'): Promise<void> {
    const p = this.page;
    const end = Date.now() + timeout;
    for (;;) {
      await p.keyboard.press('Escape');
      // Focus the workbench itself: a key pressed while a webview has focus goes into its iframe.
      await p
        .locator('.part.titlebar')
        .first()
        .click({ position: { x: 300, y: 10 }, timeout: 2000 })
        .catch(() =>
          p
            .locator('#workbench\\.parts\\.statusbar')
            .click({ position: { x: 600, y: 5 } })
            .catch(() => {}),
        );
      await p.keyboard.press('F1');
      const input = p.locator('.quick-input-widget .quick-input-box input');
      await input.waitFor();
      await input.fill(`>${title}`);
      const row = p.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
      try {
        await row.waitFor({ timeout: 3000 });
        break;
      } catch (e) {
        if (Date.now() > end) throw e;
      }
    }
    await this.chooseRow(p.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first());
    if (then === 'closes') await p.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    // The command's own quick input replaces the palette's: its box no longer holds ">title".
    else
      await p.waitForFunction(
        () => {
          const box = document.querySelector<HTMLInputElement>('.quick-input-widget:not(.quick-input-widget-closing) .quick-input-box input');
          return box !== null && !box.value.startsWith('>');
        },
        undefined,
        { timeout },
      );
  }

  /**
   * Chooses a quick-pick row: Enter when the row is the focused one, else a click. Enter alone would
   * run whatever row the list focuses (a recently used command ranked first: "File: Compare New
   * Untitled Text Files" for "File: New Untitled Text File"). After a click the pointer leaves the
   * list, so that the hover it would raise over the next quick pick does not take that one's click.
   */
  async chooseRow(row: Locator): Promise<void> {
    if (await row.evaluate((r) => r.classList.contains('focused'))) {
      await this.page.keyboard.press('Enter');
      return;
    }
    await row.click();
    await this.page.mouse.move(1, 1);
  }

  /** Opens the Release Pilot view container from the activity bar (a click toggles it, so look before each click). */
  async openReleaseView(timeout = 60_000): Promise<void> {
    const rows = this.page.locator('#workbench\\.parts\\.sidebar .monaco-list-row', { hasText: 'Checklist' }).first();
    const icon = this.page
      .locator(
        '#workbench\\.parts\\.activitybar .action-item a[aria-label^="Release Pilot"], #workbench\\.parts\\.activitybar .action-item[aria-label^="Release Pilot"]',
      )
      .first();
    const end = Date.now() + timeout;
    for (;;) {
      if (await rows.isVisible()) return;
      if (Date.now() > end) throw new Error('the Release Pilot view did not open');
      // force: the view's badge (a paused or interrupted release) lies over the icon and takes the pointer.
      if (await icon.isVisible()) await icon.click({ force: true });
      try {
        await rows.waitFor({ timeout: 3000 });
        return;
      } catch {
        // not open yet: look again
      }
    }
  }

  row(text: string | RegExp): Locator {
    return this.page.locator('#workbench\\.parts\\.sidebar .monaco-list-row', { hasText: text }).first();
  }

  async rowTexts(): Promise<string[]> {
    return this.page.locator('#workbench\\.parts\\.sidebar .monaco-list-row').allInnerTexts();
  }

  /** Clicks a button of the modal dialog that shows `text`. */
  async answerDialog(text: string | RegExp, button: string, timeout = 30_000): Promise<void> {
    const box = this.page.locator('.monaco-dialog-box', { hasText: text });
    await box.waitFor({ timeout });
    await box.getByRole('button', { name: button, exact: true }).click();
    await box.waitFor({ state: 'hidden' });
  }

  async typeInput(text: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor();
    await input.fill(text);
    await this.page.keyboard.press('Enter');
  }

  statusItem(text: string | RegExp): Locator {
    return this.page.locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: text }).first();
  }

  /** The shown terminal's text: each terminal keeps its rows in the page, hidden unless it is the active one. */
  terminalText(text: string | RegExp): Locator {
    return this.page.locator('#workbench\\.parts\\.panel .xterm-rows:visible', { hasText: text }).first();
  }

  /** The release panel's document (a webview is two nested iframes). */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  }
}
