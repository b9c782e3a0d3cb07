import * as vscode from 'vscode';
import { statusName, type ReleaseState } from '../core/model/releaseState';
import type { ReleaseController } from './controller';
import type { ReleaseTreeProvider } from './tree';

const STATUS_WORDS: Record<string, string> = {
  running: 'is running',
  paused: 'is paused',
  'rolling-back': 'is rolling back',
  interrupted: 'was interrupted',
  released: 'was released',
  failed: 'failed',
  'rolled-back': 'was rolled back',
  'rollback-failed': 'ROLLBACK FAILED',
  aborted: 'was stopped before production',
  abandoned: 'was abandoned',
};

function releaseSentence(s: Pick<ReleaseState, 'name' | 'version' | 'environment' | 'status' | 'abandonedBy'>): string {
  const name = statusName(s);
  return `${s.name} ${s.version} → ${s.environment} ${STATUS_WORDS[name] ?? name}.`;
}

/** The Release view: the tree, with the release's state above it and a badge while it waits for a person. */
export function createReleaseView(controller: ReleaseController, tree: ReleaseTreeProvider): vscode.Disposable {
  const view = vscode.window.createTreeView('releasePilot.release', { treeDataProvider: tree, showCollapseAll: false });
  const listener = controller.onDidChange(() => {
    const s = controller.state;
    view.description = s ? `${s.version} · ${statusName(s)}` : undefined;
    // The release row is cut at the default sidebar width: the state is also said in words above the tree.
    view.message = s ? releaseSentence(s) : undefined;
    view.badge =
      s && (s.status === 'paused' || s.status === 'interrupted' || s.status === 'rollback-failed')
        ? { value: 1, tooltip: `Release ${s.version} is ${s.status}` }
        : undefined;
  });
  return vscode.Disposable.from(listener, view);
}
