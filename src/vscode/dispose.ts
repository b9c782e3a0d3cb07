import type * as vscode from 'vscode';

/**
 * Owns what a class registers (listeners, emitters, watchers, timers) and releases it all once.
 * Anything registered after dispose() is released at once, so a late listener never leaks.
 */
export abstract class Disposable implements vscode.Disposable {
  private readonly owned: vscode.Disposable[] = [];
  private disposed = false;

  protected get isDisposed(): boolean {
    return this.disposed;
  }

  protected register<T extends vscode.Disposable>(d: T): T {
    if (this.disposed) d.dispose();
    else this.owned.push(d);
    return d;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Last registered, first released: a listener goes before the emitter it listens to.
    for (const d of this.owned.splice(0).reverse()) d.dispose();
  }
}

/** A timer as a disposable: cleared when its owner is disposed. */
export function timerDisposable(clear: () => void): vscode.Disposable {
  return { dispose: clear };
}
