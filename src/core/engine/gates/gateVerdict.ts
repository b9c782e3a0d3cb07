import type { ApprovalCounted } from '../../model/events';

/** A gate's verdict: open or blocked, with what satisfied it or why not. */
export interface EnvGateVerdict {
  gate: 'tree' | 'freeze' | 'promotion' | 'approval';
  state: 'open' | 'blocked';
  message: string;
  /** The approval gate: the tags that counted. */
  approvals?: ApprovalCounted[];
  /** The freeze gate, overridden: by whom and why. */
  override?: { by: string; reason: string };
}
