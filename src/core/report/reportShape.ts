/** A finished or running release as its report shows it: the fields both the Markdown and the panel read. */
export interface ReleaseReport {
  releaseLog: {
    version: string;
    time: string;
    content: string[];
    commit?: string;
    /** The working tree and the environment's freeze, promotion and approval gates, as journaled. */ gates?: string[];
    /** Every `--var` override the run started with, a secret by its hash. */
    inputs?: string;
  };
  changelog: { new: string[]; fixed: string[]; other: Record<string, string[]>; previousTag: string | null };
  /** failedChecks: the Verification steps other than the core API check that failed (absent when none did). */
  verification: { dbMigration: string; serviceStatus: string; coreApi: string; monitoring: string; failedChecks?: string };
  incidentResponse: {
    rollbackTriggered: 'Yes' | 'No';
    reason: string;
    trigger?: string;
    latencyMs?: number;
    outcome?: string;
    /** The newest attempt's duration, from its trigger to the end of its last step, against the plan's budget. */
    durationMs?: number;
    budgetMs?: number;
    overBudget?: boolean;
    /** Every rollback attempt, oldest first (none when no rollback was triggered). */
    attempts?: RollbackAttempt[];
    /** What the rollback did to the database: its strategy, and the writes since the backup kept and discarded. */
    database?: string;
  };
  outcome: string;
  outcomeMessage?: string;
  release: { runId: string; name: string; environment: string; user: string; startedAt: string; finishedAt?: string; status: string };
  acceptance?: { ok: boolean; expected: string; said: string; source: string };
  timeline: {
    phase: string;
    state: string;
    durationMs?: number;
    steps: { name: string; state: string; exitCode?: number | null; durationMs?: number; message?: string; waivedBy?: string; waiveReason?: string }[];
  }[];
  checklist: { id: string; title: string; state: string; by?: string; reason?: string; detail?: string }[];
  monitoring: { metric: string; baseline?: number; observedMean?: number; samples: number; breaches: number; verdict: string; explanation?: string }[];
  announcements: { channel: string; ok: boolean; message: string }[];
  warnings: string[];
}

export interface RollbackAttempt {
  startedAt: string;
  trigger: string;
  reason: string;
  by: string;
  outcome: string;
  message?: string;
  latencyMs: number;
  durationMs?: number;
  budgetMs?: number;
  overBudget?: boolean;
  lateByMs?: number;
  forcedOver?: string;
}
