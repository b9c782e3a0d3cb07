// The Release view's nodes: what each is, its key across refreshes, its icon, and what a person sees of its item.
import * as vscode from 'vscode';
import type { PhaseId } from '../core/model/schema';
import { accessibleLabel, type StateLook } from './rowState';

/** The gates a release passes before its checklist: a verdict that says go, a rollback plan, and what its environment declares. */
export type GateId = 'acceptance' | 'rollback-plan' | EnvironmentGateId;
export type EnvironmentGateId = 'freeze' | 'promotion' | 'approval';
export const ENVIRONMENT_GATES: Record<EnvironmentGateId, string> = { freeze: 'Freeze window', promotion: 'Promotion', approval: 'Approval' };

export type { GateState } from './rowState';

export type Node =
  | { kind: 'release' }
  | { kind: 'group'; id: 'gates' | 'checklist' | 'phases'; blocked?: boolean }
  | { kind: 'gate'; id: GateId }
  | { kind: 'checklist'; id: string }
  | { kind: 'phase'; id: PhaseId; ran?: boolean }
  | { kind: 'step'; key: string; phase: PhaseId | 'rollback' }
  | { kind: 'rollback' };

export const NODE_KINDS: readonly Node['kind'][] = ['release', 'group', 'gate', 'checklist', 'phase', 'step', 'rollback'];

/**
 * The one way a row shows a state: its icon and its accessible label come from the same look, so a
 * screen reader says the state the icon shows. Called once the row's label and description are final.
 */
export function showState(item: vscode.TreeItem, look: StateLook): vscode.TreeItem {
  item.iconPath = new vscode.ThemeIcon(look.icon, look.colour ? new vscode.ThemeColor(look.colour) : undefined);
  const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
  item.accessibilityInformation = { label: accessibleLabel(look, label, typeof item.description === 'string' ? item.description : undefined) };
  return item;
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
  return JSON.stringify([
    i.id,
    i.label,
    i.description,
    iconId,
    tooltip,
    i.contextValue,
    i.collapsibleState,
    i.command?.command,
    i.command?.arguments,
    i.accessibilityInformation?.label,
  ]);
}
