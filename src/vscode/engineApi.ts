// What the extension loads on the first command that runs something: the engine, its process
// runner, git and monitoring. Bundled apart (dist/engine.js) so activation does not pay for it;
// what it shares with the views (plan, fold, journal) comes from dist/core.js (see esbuild.mjs).
export { Release, currentUser, GateError } from '../core/engine/engine';
export { UnresolvedRunError } from '../core/engine/stop';
export { runCheck } from '../core/engine/checks';
export { beforeRunScope } from '../core/engine/releaseFacts';
export { previewRelease } from '../core/engine/preview';
export { compareRuns, comparableRuns } from '../core/engine/compare';
export { recordApproval } from '../core/git/approvals';
export { planHash } from '../core/engine/runOpen';
export { uncommittedGatedPlan } from '../core/engine/committedPlan';
export { gatesNow, type GatesNow } from '../core/engine/gatesNow';
