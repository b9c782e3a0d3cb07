/** Every command the extension registers; a unit test checks this table against package.json. */
export const COMMANDS = {
  startRelease: 'releasePilot.startRelease',
  runPhase: 'releasePilot.runPhase',
  retryStep: 'releasePilot.retryStep',
  waiveItem: 'releasePilot.waiveItem',
  rollback: 'releasePilot.rollback',
  resumeRelease: 'releasePilot.resumeRelease',
  abandonRelease: 'releasePilot.abandonRelease',
  openReport: 'releasePilot.openReport',
  showMonitor: 'releasePilot.showMonitor',
  validatePlan: 'releasePilot.validatePlan',
  previewRelease: 'releasePilot.previewRelease',
  createPlan: 'releasePilot.createPlan',
  checkItem: 'releasePilot.checkItem',
  openStepLog: 'releasePilot.openStepLog',
  cancelStep: 'releasePilot.cancelStep',
  refresh: 'releasePilot.refresh',
  openRunReport: 'releasePilot.openRunReport',
  openRunJournal: 'releasePilot.openRunJournal',
  refreshHistory: 'releasePilot.refreshHistory',
  redeployRun: 'releasePilot.redeployRun',
  compareRelease: 'releasePilot.compareRelease',
  approveRelease: 'releasePilot.approveRelease',
  installCli: 'releasePilot.installCli',
} as const;
export type CommandId = (typeof COMMANDS)[keyof typeof COMMANDS];

/** Commands that run commands of the plan: refused in an untrusted workspace. */
export const RUNS_COMMANDS: readonly CommandId[] = [
  COMMANDS.startRelease,
  COMMANDS.runPhase,
  COMMANDS.retryStep,
  COMMANDS.rollback,
  COMMANDS.resumeRelease,
  COMMANDS.abandonRelease,
  COMMANDS.checkItem,
  COMMANDS.waiveItem,
  COMMANDS.cancelStep,
  // The preview runs git (the version from tags, the git gate), which a repository's config can make run programs.
  COMMANDS.previewRelease,
  COMMANDS.redeployRun,
  // The changelog between the two runs is read with git, as the preview's gates are.
  COMMANDS.compareRelease,
  // An approval is a git tag, written (and signed) by git, which a repository's config can make run programs.
  COMMANDS.approveRelease,
];
