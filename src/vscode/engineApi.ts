// What the extension loads on the first command that runs something: the engine, its process
// runner, git and monitoring. Bundled apart (dist/engine.js) so activation does not pay for it;
// what it shares with the views (plan, fold, journal) comes from dist/core.js (see esbuild.mjs).
export { Release, currentUser, GateError } from '../core/engine/run/engine';
export { UnresolvedRunError } from '../core/engine/gates/unresolvedRun';
export { runCheck } from '../core/engine/gates/checks';
export { lintMigrations } from '../core/plan/migrationLint';
export { beforeRunScope } from '../core/engine/queries/releaseFacts';
export { previewRelease } from '../core/engine/queries/releasePreview';
export { compareRuns, comparableRuns } from '../core/engine/queries/compareRuns';
export { recordApproval } from '../core/git/approvals';
export { inputsNow } from '../core/engine/run/runInputs';
export { planHash } from '../core/engine/gates/planIdentity';
export { uncommittedGatedPlan } from '../core/engine/gates/committedPlan';
export { gatesNow, type GatesNow } from '../core/engine/gates/gatesNow';
export { openPlanStore, syncSharedRuns, rollbackRoute, askRollback } from '../core/engine/queries/sharedRuns';
