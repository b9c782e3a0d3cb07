// The Release view's nodes: what each is, its key across refreshes, its icon, and what a person sees of its item.
import * as vscode from 'vscode';
import type { PhaseId } from '../core/model/schema';

/** The gates a release passes before its checklist: a verdict that says go, a rollback plan, and what its environment declares. */
export type GateId = 'acceptance' | 'rollback-plan' | EnvironmentGateId;
export type EnvironmentGateId = 'freeze' | 'promotion' | 'approval';
export const ENVIRONMENT_GATES: Record<EnvironmentGateId, string> = { freeze: 'Freeze window', promotion: 'Promotion', approval: 'Approval' };

export type GateState = 'pending' | 'checking' | 'running' | 'passed' | 'failed' | 'waived' | 'blocked' | 'interrupted' | 'skipped' | 'paused';

export type Node =
  | { kind: 'release' }
  | { kind: 'group'; id: 'gates' | 'checklist' | 'phases'; blocked?: boolean }
  | { kind: 'gate'; id: GateId }
  | { kind: 'checklist'; id: string }
  | { kind: 'phase'; id: PhaseId; ran?: boolean }
  | { kind: 'step'; key: string; phase: PhaseId | 'rollback' }
  | { kind: 'rollback' };

export const NODE_KINDS: readonly Node['kind'][] = ['release', 'group', 'gate', 'checklist', 'phase', 'step', 'rollback'];

export const ICONS: Record<GateState, [string, string | undefined]> = {
  pending: ['circle-large-outline', undefined],
  checking: ['sync~spin', 'charts.blue'],
  running: ['sync~spin', 'charts.blue'],
  passed: ['pass-filled', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  waived: ['pass', 'charts.yellow'],
  blocked: ['circle-slash', 'charts.orange'],
  interrupted: ['debug-pause', 'charts.orange'],
  skipped: ['dash', 'disabledForeground'],
  paused: ['debug-pause', 'charts.yellow'],
};

export function icon(state: GateState): vscode.ThemeIcon {
  const [id, colour] = ICONS[state];
  return new vscode.ThemeIcon(id, colour ? new vscode.ThemeColor(colour) : undefined);
}

export const secs = (ms?: number) => (ms === undefined ? '' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

export const childrenKey = (parent: Node | undefined) => `children:${parent ? nodeKey(parent) : 'root'}`;

export function nodeKey(n: Node): string {
  switch (n.kind) {
    case 'release':
    case 'rollback':
      return n.kind;
    case 'group':
      // The gates group opens when a gate is blocked: then it is another node (see its item id).
      return n.id === 'gates' && n.blocked ? 'group:gates:blocked' : `group:${n.id}`;
    case 'gate':
    case 'checklist':
      return `${n.kind}:${n.id}`;
    case 'phase':
      // A phase that starts running becomes another node (see phaseItem's id).
      return `phase:${n.id}:${n.ran ? 'ran' : 'idle'}`;
    case 'step':
      return `step:${n.key}`;
  }
}

/** Everything of a tree item a person sees or clicks. */
export function itemSignature(i: vscode.TreeItem): string {
  const iconId = i.iconPath instanceof vscode.ThemeIcon ? `${i.iconPath.id}/${i.iconPath.color?.id ?? ''}` : JSON.stringify(i.iconPath ?? '');
  const tooltip = i.tooltip instanceof vscode.MarkdownString ? i.tooltip.value : (i.tooltip ?? '');
  return JSON.stringify([i.id, i.label, i.description, iconId, tooltip, i.contextValue, i.collapsibleState, i.command?.command, i.command?.arguments]);
}
