// What the extension loads on the first command that runs something: the engine, its process
// runner, git and monitoring. Bundled apart (dist/engine.js) so activation does not pay for it.
export { Release, currentUser } from '../core/engine/engine';
export { runCheck } from '../core/engine/checks';
export { beforeRunScope } from '../core/engine/releaseFacts';
export { previewRelease } from '../core/engine/preview';
