import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { PHASES } from '../core/model/schema';
import { unitsFor } from '../core/engine/run/phaseUnits';
import { writeReport } from '../core/report/report';
import { ensureToolIgnored } from '../core/git/ignore';
import { PLAN_TEMPLATES as TEMPLATES, isPlanTemplate, pathTaken, writeTemplate } from '../core/plan/templates';
import { JournalWriteError, LockHeldError } from '../core/journal/journal';
import { UnresolvedReferenceError } from '../core/plan/scope';
import { COMMANDS, RUNS_COMMANDS, type CommandId } from './commandIds';
import type { ReleaseController } from './controller';
import { UNTRUSTED_MESSAGE, UserError } from './userError';
import type { PlanDiagnostics } from './diagnostics';
import { Disposable } from './dispose';
import { engine, engineIfLoaded } from './lazyEngine';
import { comparisonView } from './snapshot';
import { shortTime } from '../core/engine/queries/releaseHistory';
import { runDir, runIdProblem } from '../core/engine/queries/runs';
import { ReleasePanel } from './panel';
import { askAbandonReason, askWaiveReason } from './vscodePrompter';
import { NODE_KINDS, type Node } from './treeNodes';
import type { HistoryRow } from '../core/engine/queries/releaseHistory';
import { openRunJournal, openRunReport, type HistoryProvider } from './historyView';
import type { PreviewDocuments } from './previewDocuments';
import { askApproval, checkGatesNow, chooseEnvironment, watchGitForGates } from './vscodeEnvironments';
import { SecretMasker } from '../core/exec/mask';
import { secretValues } from '../core/engine/gates/secrets';
import { runScope, stepTitle } from '../core/plan/scope';
import { installCliCommand } from './cliCommand';

/** A command's argument, decoded once: a tree row, a string (a reason, a checklist id, a template, a file) or a URI. */
export interface CommandArgs {
  node?: Node;
  text?: string;
  uri?: vscode.Uri;
  /** A row of the Releases view. */
  run?: HistoryRow;
}

export function decodeArgs(args: readonly unknown[]): CommandArgs {
  const [a] = args;
  if (typeof a === 'string') return { text: a };
  if (a instanceof vscode.Uri) return { uri: a };
  if (typeof a === 'object' && a !== null && NODE_KINDS.includes((a as { kind?: never }).kind as never)) return { node: a as Node };
  if (typeof a === 'object' && a !== null && typeof (a as HistoryRow).runId === 'string' && typeof (a as HistoryRow).journal === 'string')
    return { run: a as HistoryRow };
  return {};
}

type Handler = (args: CommandArgs) => unknown;

const FINISHED = ['released', 'rolled-back', 'rollback-failed', 'aborted', 'failed'];

/** The engine's own refusals (lock held, gate, journal refused, unknown reference): said as a warning, not a crash. */
function isExpected(e: unknown): boolean {
  if (e instanceof UserError || e instanceof LockHeldError || e instanceof JournalWriteError || e instanceof UnresolvedReferenceError) return true;
  const engine = engineIfLoaded();
  return engine !== undefined && e instanceof engine.GateError;
}

/**
 * Every command of the extension: one table of ids to methods, each registered through one wrapper
 * that refuses plan-running commands in an untrusted workspace, decodes the argument and turns
 * errors into a message with actions.
 */
export class CommandCenter extends Disposable {
  constructor(
    private readonly c: ReleaseController,
    private readonly diagnostics: PlanDiagnostics,
    private readonly log: vscode.LogOutputChannel,
    private readonly extensionUri: vscode.Uri,
    private readonly history: HistoryProvider,
    private readonly previews: PreviewDocuments,
  ) {
    super();
    const table: Record<CommandId, Handler> = {
      [COMMANDS.startRelease]: () => this.startRelease(),
      [COMMANDS.approveRelease]: () => this.approveRelease(),
      [COMMANDS.resumeRelease]: () => this.c.resume(),
      [COMMANDS.abandonRelease]: (a) => this.abandon(a),
      [COMMANDS.runPhase]: (a) => this.runPhase(a),
      [COMMANDS.retryStep]: (a) => this.retryStep(a),
      [COMMANDS.waiveItem]: (a) => this.waive(a),
      [COMMANDS.rollback]: (a) => this.rollback(a),
      [COMMANDS.cancelStep]: () => this.c.cancelStep(),
      [COMMANDS.checkItem]: (a) => this.checkItem(a),
      [COMMANDS.openStepLog]: (a) => this.openStepLog(a),
      [COMMANDS.openReport]: (a) => this.openReport(a),
      [COMMANDS.showMonitor]: () => void ReleasePanel.show(this.extensionUri, this.c, 'monitor'),
      [COMMANDS.validatePlan]: () => this.validatePlan(),
      [COMMANDS.createPlan]: (a) => this.createPlan(a),
      [COMMANDS.refresh]: () => {
        this.c.reload();
        return checkGatesNow(this.c, this.log);
      },
      [COMMANDS.previewRelease]: () => this.previewRelease(),
      [COMMANDS.openRunReport]: ({ run }) => openRunReport(this.needRun(run)),
      [COMMANDS.openRunJournal]: ({ run }) => openRunJournal(this.needRun(run)),
      [COMMANDS.refreshHistory]: () => this.history.refresh(),
      [COMMANDS.redeployRun]: ({ run }) => this.redeploy(this.needRun(run)),
      [COMMANDS.compareRelease]: ({ run }) => this.compare(this.needRun(run)),
      [COMMANDS.installCli]: () => installCliCommand(this.extensionUri),
    };
    for (const [id, handler] of Object.entries(table) as [CommandId, Handler][]) {
      this.register(vscode.commands.registerCommand(id, (...args: unknown[]) => this.run(id, handler, args)));
    }
    this.register(watchGitForGates(c, log));
  }

  /** With several environments, which one (and, inside a freeze window, why release anyway). */
  private async startRelease() {
    const plan = this.c.requirePlan().result.plan;
    const chosen = await chooseEnvironment(plan);
    return chosen && this.c.start(chosen);
  }

  /** Deploy: Approve Release: an approval tag by the person at this git, for the plan as it is now. */
  private async approveRelease() {
    const { result } = this.c.requirePlan();
    const version = this.c.state?.version ?? (result.plan.release.version === 'auto' ? undefined : result.plan.release.version);
    const a = await askApproval(result.plan, version);
    if (!a) return;
    const env = a.plan.release.environment;
    const signed = Boolean(a.plan.environments?.[env]?.approvals?.signed);
    // The release reads its gates from the committed plan: an approval of an edited one would never count.
    const uncommitted = await engine().uncommittedGatedPlan(this.c.workspaceDir!, this.c.planFile!, result.plan, result.text);
    if (uncommitted) throw new UserError(uncommitted.replace('then release again', 'then approve again'));
    const r = await engine().recordApproval(this.c.workspaceDir!, {
      environment: env,
      version: a.version,
      planHash: engine().planHash(result.text),
      // The values of the plan's `${env:…}` here, as a release started from this window would journal them.
      inputs: engine().inputsNow(a.plan, result.text, {}, process.env),
      comment: a.comment,
      sign: signed,
    });
    this.log.info(`approval ${r.tag} by ${r.approver.name} <${r.approver.email}> at ${r.commit}`);
    this.c.reload();
    await checkGatesNow(this.c, this.log, env, a.version);
    void vscode.window.showInformationMessage(
      `Approved ${a.plan.release.name} ${a.version} for ${env} as ${r.approver.name} <${r.approver.email}>${signed ? ' (signed)' : ''}. Share it: git push origin refs/tags/${r.tag}`,
    );
  }

  /** The one wrapper: trust, argument decoding, then typed errors turned into messages with actions. */
  private async run(id: CommandId, handler: Handler, args: unknown[]): Promise<unknown> {
    try {
      if (RUNS_COMMANDS.includes(id) && !vscode.workspace.isTrusted) throw new UserError(UNTRUSTED_MESSAGE);
      // A command can be what activated the extension: the plan is read before it acts.
      this.c.ensureLoaded();
      return await handler(decodeArgs(args));
    } catch (e) {
      this.report(id, e as Error);
      return undefined;
    }
  }

  private report(id: CommandId, err: Error): void {
    if (isExpected(err)) this.log.warn(`${id}: ${err.message}`);
    else this.log.error(`${id}: ${err.stack ?? err.message}`);
    const actions = err instanceof UserError ? err.actions : (['Show Log'] as const);
    void vscode.window.showErrorMessage(`Release Pilot: ${err.message}`, ...actions).then((pick) => {
      if (pick === 'Show Log') this.log.show(true);
      if (pick === 'Open Plan' && this.c.planFile) void vscode.window.showTextDocument(vscode.Uri.file(this.c.planFile));
    });
  }

  /**
   * The run a row command acts on: the row it was invoked on, else the row selected in the Releases view
   * (a keybinding, the palette, or a menu whose row the view had just refreshed away).
   */
  private needRun(run: HistoryRow | undefined): HistoryRow {
    const row = run ?? this.history.selected();
    if (!row) throw new UserError('Pick a release in the Releases view.');
    const ws = this.c.workspaceDir;
    if (!ws) throw new UserError('Open a workspace folder to act on its releases.');
    // A row is an argument anyone can pass: its id is checked and its files are found from it, never taken from the row.
    const notId = runIdProblem(row.runId);
    if (notId) throw new UserError(notId);
    let dir: string;
    try {
      dir = runDir(ws, row.runId);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    return { ...row, report: path.join(dir, 'report.md'), journal: path.join(dir, 'journal.jsonl') };
  }

  /** Only a run that ended released is known good; the engine then checks the plan allows a redeploy. */
  private redeploy(run: HistoryRow) {
    if (run.status !== 'released')
      throw new UserError(`Only a released version can be redeployed: ${run.name} ${run.version} ended ${run.status} in run ${run.runId}.`);
    return this.c.start({ redeploy: run.version });
  }

  /** Asks for another run of the same plan, then shows both monitoring windows and the changelog between them in the panel. */
  private async compare(run: HistoryRow) {
    const dir = this.c.workspaceDir;
    if (!dir) throw new UserError('Open a workspace folder to compare its releases.');
    const others = engine().comparableRuns(dir, run.runId);
    if (!others.length) throw new UserError(`No other run of ${run.plan} to compare ${run.version} (run ${run.runId}) with.`);
    const picked = await vscode.window.showQuickPick(
      others.map((o) => ({ label: o.version, description: `${o.status} · ${shortTime(o.startedAt)}`, detail: `run ${o.runId}`, runId: o.runId })),
      { title: `Compare ${run.version} (run ${run.runId}) with`, placeHolder: 'Another release of this plan', matchOnDescription: true, matchOnDetail: true },
    );
    if (!picked) return;
    const plan = this.c.plan?.ok ? this.c.plan.plan : undefined;
    const comparison = await engine().compareRuns(dir, run.runId, picked.runId, { plan });
    ReleasePanel.compare(this.extensionUri, this.c, comparisonView(comparison));
  }

  private async previewRelease() {
    this.c.reload();
    const loaded = this.c.plan;
    if (!loaded || !this.c.planFile || !this.c.workspaceDir)
      throw new UserError('No release plan in this workspace. Create one with "Deploy: Create Release Plan".');
    if (!loaded.ok)
      throw new UserError(
        `The release plan has ${loaded.problems.length} problem(s); the first at line ${loaded.problems[0].line}: ${loaded.problems[0].message}`,
        ['Open Plan'],
      );
    return this.previews.show(this.c.workspaceDir, this.c.planFile, loaded.text, loaded.plan);
  }

  private failedStep(): string | undefined {
    return Object.values(this.c.state?.steps ?? {}).find((s) => s.state === 'failed' || s.state === 'interrupted')?.key;
  }

  private async abandon({ text }: CommandArgs) {
    const s = this.c.state;
    if (!s || FINISHED.includes(s.status)) throw new UserError('There is no paused or interrupted release to abandon.');
    const reason = text?.trim() ? text.trim() : await askAbandonReason(s.version);
    if (!reason) return undefined;
    return this.c.abandon(reason);
  }

  private runPhase({ node }: CommandArgs) {
    const plan = this.c.requirePlan().result.plan;
    const s = this.c.state;
    const open = s && !FINISHED.includes(s.status);
    const next =
      node?.kind === 'phase'
        ? node.id
        : PHASES.find((p) => unitsFor(plan, p).length > 0 && (!open || !['passed', 'skipped', 'waived'].includes(s.phases.find((x) => x.id === p)!.state)));
    if (!next) throw new UserError('Every phase of this release has run.');
    return open ? this.c.resume({ stopAfter: next }) : this.c.startUntil(next);
  }

  private retryStep({ node }: CommandArgs) {
    const key = node?.kind === 'step' ? node.key : this.failedStep();
    if (!key) throw new UserError('No failed or interrupted step to retry.');
    return this.c.resume({ decided: { [key]: { action: 'retry' } } });
  }

  /** A checklist item (its id, or its row) or a step (its row; else the failed one). */
  private async waive({ node, text }: CommandArgs) {
    const checklistId = text ?? (node?.kind === 'checklist' ? node.id : undefined);
    const key = checklistId === undefined ? (node?.kind === 'step' ? node.key : this.failedStep()) : undefined;
    const what = checklistId !== undefined ? `checklist item "${checklistId}"` : key ? `step "${this.c.state?.steps[key]?.name ?? key}"` : undefined;
    if (!what) throw new UserError('Select a failed checklist item or step to waive.');
    const reason = await askWaiveReason(what);
    if (!reason) return undefined;
    if (checklistId !== undefined) return this.c.waiveChecklistItem(checklistId, reason);
    return this.c.resume({ decided: { [key!]: { action: 'waive', reason } } });
  }

  private async rollback({ text }: CommandArgs) {
    const s = this.c.state;
    if (!s || !this.c.rollbackUntil()) throw new UserError('There is nothing to roll back right now.');
    let reason = text;
    if (!reason) {
      const steps = rollbackStepNames(this.c).map((name, i) => `${i + 1}. ${name}`);
      const pick = await vscode.window.showWarningMessage(
        `Roll back ${s.name} ${s.version} on ${s.environment}?`,
        { modal: true, detail: `The plan's rollback steps run now:\n${steps.join('\n')}` },
        'Roll Back',
      );
      if (pick !== 'Roll Back') return undefined;
      reason =
        (await vscode.window.showInputBox({
          title: 'Why roll back?',
          prompt: 'Recorded in the journal and the report (Enter to skip)',
          ignoreFocusOut: true,
        })) || 'rolled back from VS Code';
    }
    return this.c.rollback(reason);
  }

  private checkItem({ node, text }: CommandArgs) {
    const id = text ?? (node?.kind === 'checklist' ? node.id : undefined);
    if (!id) throw new UserError('Select a checklist item to check.');
    return this.c.checkItem(id);
  }

  private async openStepLog({ node, text, uri }: CommandArgs) {
    const step = node?.kind === 'step' ? this.c.state?.steps[node.key] : undefined;
    const file = text ?? uri?.fsPath ?? (step?.log && this.c.runDir ? path.join(this.c.runDir, step.log) : undefined);
    if (!file || !fs.existsSync(file)) throw new UserError('This step has no log yet.');
    await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true, preserveFocus: false });
  }

  private async openReport({ text }: CommandArgs) {
    if (!this.c.state || !this.c.runDir) throw new UserError('No release has run in this workspace yet.');
    if (text === 'markdown') {
      const { md } = writeReport(this.c.runDir, this.c.state);
      await vscode.window.showTextDocument(vscode.Uri.file(md), { preview: false, viewColumn: vscode.ViewColumn.Active });
      return md;
    }
    ReleasePanel.show(this.extensionUri, this.c, 'report');
    return undefined;
  }

  private async validatePlan() {
    const file = this.c.planFile;
    if (!file || !fs.existsSync(file)) throw new UserError('No release plan in this workspace. Create one with "Deploy: Create Release Plan".');
    this.c.reload();
    const doc = await vscode.workspace.openTextDocument(file);
    // Warnings stay in the Problems panel; only errors make the plan invalid.
    const problems = this.diagnostics.check(doc).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
    if (problems.length === 0) void vscode.window.showInformationMessage(`Release plan ${vscode.workspace.asRelativePath(file)} is valid.`);
    else {
      const first = problems[0];
      void vscode.window
        .showErrorMessage(`Release plan: ${problems.length} problem(s); the first at line ${first.range.start.line + 1}: ${first.message}`, 'Open Plan')
        .then((p) => {
          if (p) void vscode.window.showTextDocument(doc, { selection: first.range });
        });
    }
    return problems.length;
  }

  private async createPlan({ text }: CommandArgs) {
    const folder = this.c.folder;
    if (!folder) throw new UserError('Open a folder first: the release plan lives in it.');
    const items = Object.entries(TEMPLATES).map(([label, detail]) => ({ label, detail }));
    const pick = text ?? (await vscode.window.showQuickPick(items, { title: 'Create Release Plan', placeHolder: 'Start from a template' }))?.label;
    if (!pick || !isPlanTemplate(pick)) return undefined;
    const target = this.c.planFile ?? path.join(folder.uri.fsPath, '.release', 'plan.yaml');
    if (pathTaken(target)) {
      const over = await vscode.window.showWarningMessage(`${vscode.workspace.asRelativePath(target)} exists. Replace it?`, { modal: true }, 'Replace');
      if (over !== 'Replace') return undefined;
    }
    writeTemplate(vscode.Uri.joinPath(this.extensionUri, 'dist', 'templates', `${pick}.yaml`).fsPath, target);
    // The lock and the runs are the tool's, not the user's: keep them out of commits and of the clean-tree gate's way.
    ensureToolIgnored(this.c.workspaceDir ?? folder.uri.fsPath);
    this.c.reload();
    await vscode.window.showTextDocument(vscode.Uri.file(target));
    return target;
  }
}

/** The rollback steps as they would run now: names resolved with this run's values, as the tree and terminal show them. */
function rollbackStepNames(c: ReleaseController): string[] {
  const plan = c.plan?.ok ? c.plan.plan : undefined;
  if (!plan) return [];
  const scope = runScope(plan, c.state ?? { version: '', runId: '' }, c.runDir ?? '', process.env);
  const masker = new SecretMasker(secretValues(c.plan?.ok ? c.plan.text : '', plan, process.env));
  return plan.rollback.steps.map((x) => {
    try {
      return masker.mask(stepTitle(x, scope));
    } catch (e) {
      return `(cannot show this step: ${(e as Error).message.replace(/\$\{/g, '{')})`;
    }
  });
}
