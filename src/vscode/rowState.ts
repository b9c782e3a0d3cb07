// What a row of the Release and Releases views shows of its state: the icon, and the word a screen reader says.
// Free of `vscode`, so that every row kind's every state is checked in plain Node.

/** A gate's, checklist item's, phase's or step's state, as the Release view shows it. */
export type GateState = 'pending' | 'checking' | 'running' | 'passed' | 'failed' | 'waived' | 'blocked' | 'interrupted' | 'skipped' | 'paused';
export const GATE_STATES: readonly GateState[] = [
  'pending',
  'checking',
  'running',
  'passed',
  'failed',
  'waived',
  'blocked',
  'interrupted',
  'skipped',
  'paused',
];

/** A state as a row shows it: the word said first in its accessible label, a codicon and its theme colour. */
export interface StateLook {
  word: string;
  icon: string;
  colour?: string;
}

const GATE_LOOKS: Record<GateState, StateLook> = {
  pending: { word: 'Pending', icon: 'circle-large-outline' },
  checking: { word: 'Checking', icon: 'sync~spin', colour: 'charts.blue' },
  running: { word: 'Running', icon: 'sync~spin', colour: 'charts.blue' },
  passed: { word: 'Passed', icon: 'pass-filled', colour: 'testing.iconPassed' },
  failed: { word: 'Failed', icon: 'error', colour: 'testing.iconFailed' },
  waived: { word: 'Waived', icon: 'pass', colour: 'charts.yellow' },
  blocked: { word: 'Blocked', icon: 'circle-slash', colour: 'charts.orange' },
  interrupted: { word: 'Interrupted', icon: 'debug-pause', colour: 'charts.orange' },
  skipped: { word: 'Skipped', icon: 'dash', colour: 'disabledForeground' },
  paused: { word: 'Paused', icon: 'debug-pause', colour: 'charts.yellow' },
};

/** A run's status as the Releases view shows it (and the Release view's release row, for a rolled-back release). */
const RUN_LOOKS: Record<string, StateLook> = {
  released: { word: 'Released', icon: 'pass', colour: 'testing.iconPassed' },
  'rolled-back': { word: 'Rolled back', icon: 'history', colour: 'charts.yellow' },
  'rollback-failed': { word: 'Rollback failed', icon: 'error', colour: 'testing.iconFailed' },
  aborted: { word: 'Aborted', icon: 'circle-slash', colour: 'disabledForeground' },
  abandoned: { word: 'Abandoned', icon: 'trash', colour: 'disabledForeground' },
  running: { word: 'Running', icon: 'sync~spin', colour: 'charts.blue' },
  'rolling-back': { word: 'Rolling back', icon: 'sync~spin', colour: 'charts.blue' },
  paused: { word: 'Paused', icon: 'debug-pause', colour: 'charts.yellow' },
  interrupted: { word: 'Interrupted', icon: 'warning', colour: 'charts.orange' },
  failed: { word: 'Failed', icon: 'error', colour: 'testing.iconFailed' },
};

/** Every kind of row that shows a state, and the states it can show. */
export const ROW_STATES = {
  gate: ['open', 'blocked', 'pending'],
  checklist: GATE_STATES,
  phase: GATE_STATES,
  step: GATE_STATES,
  release: [
    'not-started',
    'invalid',
    'running',
    'paused',
    'rolling-back',
    'interrupted',
    'released',
    'rolled-back',
    'rollback-failed',
    'aborted',
    'abandoned',
    'failed',
  ],
  rollback: ['running', 'rolled-back', 'rollback-failed'],
  run: ['released', 'rolled-back', 'rollback-failed', 'aborted', 'abandoned', 'running', 'paused', 'interrupted', 'failed', 'rolling-back'],
  'refused-attempts': ['refused'],
} as const satisfies Record<string, readonly string[]>;
export type RowKind = keyof typeof ROW_STATES;

/** A state word for a status no table names (a newer journal's): the status itself, capitalised. */
const said = (status: string) => (status ? status[0].toUpperCase() + status.slice(1).replace(/-/g, ' ') : 'Unknown state');

/** A table's own entry for `key` (never an inherited one such as `constructor`). */
const own = <T>(table: Record<string, T>, key: string): T | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

/** How a row of `kind` shows `state`: the one table every row's icon and accessible label come from. */
export function rowLook(kind: RowKind, state: string): StateLook {
  switch (kind) {
    case 'gate':
      return state === 'open' ? { ...GATE_LOOKS.passed, word: 'Open' } : (own(GATE_LOOKS, state) ?? { word: said(state), icon: 'circle-outline' });
    case 'release':
      if (state === 'not-started') return { word: 'Not started', icon: 'rocket' };
      if (state === 'invalid') return { ...GATE_LOOKS.failed, word: 'Invalid plan' };
      if (state === 'rolled-back') return RUN_LOOKS['rolled-back'];
      // The release row keeps the Release view's icons (a released run's filled tick), with the status's own word.
      return { ...GATE_LOOKS[releaseGateState(state)], word: own(RUN_LOOKS, state)?.word ?? said(state) };
    case 'rollback':
      return state === 'rolled-back'
        ? { word: 'Rolled back', icon: 'history', colour: 'testing.iconPassed' }
        : state === 'rollback-failed'
          ? RUN_LOOKS['rollback-failed']
          : { ...GATE_LOOKS.running, word: 'Rolling back' };
    case 'run':
      return own(RUN_LOOKS, state) ?? { word: said(state), icon: 'circle-outline' };
    case 'refused-attempts':
      return { word: 'Refused', icon: 'circle-slash', colour: 'disabledForeground' };
    default:
      return own(GATE_LOOKS, state) ?? { word: said(state), icon: 'circle-outline' };
  }
}

function releaseGateState(status: string): GateState {
  if (status === 'released') return 'passed';
  if (status === 'running' || status === 'rolling-back') return 'running';
  if (status === 'paused' || status === 'interrupted') return status;
  return 'failed';
}

/**
 * What a screen reader says of a row: its state's word first, then its label, then its description
 * (the same text a person sees, so that the visible words are part of the spoken name).
 */
export function accessibleLabel(look: StateLook, label: string, description?: string): string {
  const rest = [label, description].filter((t): t is string => Boolean(t && t.trim())).join(' ');
  return rest ? `${look.word}: ${rest}` : look.word;
}
