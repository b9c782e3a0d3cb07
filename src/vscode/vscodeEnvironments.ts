import * as vscode from 'vscode';
import type { Plan } from '../core/model/schema';
import type { ReleaseController } from './controller';
import { engine } from './lazyEngine';
import { environmentNames, environmentOf, environmentToCheck, freezeAt, hasGates, planForEnvironment } from '../core/plan/environments';

/**
 * Which environment a release goes to, asked when the plan has several; then, inside a freeze window,
 * the reason to release anyway. Undefined: the person cancelled.
 */
export async function chooseEnvironment(plan: Plan, now = Date.now()): Promise<{ plan: Plan; overrideFreeze?: string } | undefined> {
  const names = environmentNames(plan);
  if (!names.length) return { plan };
  const name = await pickEnvironmentName(plan, 'Start Release: to which environment?');
  if (!name) return undefined;
  const resolved = planForEnvironment(plan, name);
  if (!resolved.ok) throw new Error(resolved.message);
  const frozen = freezeAt(environmentOf(plan, name)!.env, now);
  if (!frozen) return { plan: resolved.plan };
  const reason = await vscode.window.showInputBox({
    title: `${name} is frozen until ${frozen.to}: ${frozen.reason}`,
    prompt: 'Release anyway only with a reason; it is journaled and in the report. Escape cancels.',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'an override needs a reason'),
  });
  return reason?.trim() ? { plan: resolved.plan, overrideFreeze: reason.trim() } : undefined;
}

/** A quick pick of the plan's environments, each with the gates it declares. */
export async function pickEnvironmentName(plan: Plan, title: string): Promise<string | undefined> {
  const items = environmentNames(plan).map((label) => {
    const e = plan.environments![label];
    const gates = [
      e.requires ? `after ${e.requires.released}` : '',
      e.approvals ? `${e.approvals.count} approval(s)${e.approvals.signed ? ', signed' : ''}` : '',
      e.freeze.length ? `${e.freeze.length} freeze window(s)` : '',
    ].filter(Boolean);
    return { label, description: gates.join(' · ') };
  });
  return (await vscode.window.showQuickPick(items, { title, placeHolder: 'Environment' }))?.label;
}

/** Deploy: Approve Release: which environment, which version, an optional comment. */
export async function askApproval(plan: Plan, version: string | undefined): Promise<{ plan: Plan; version: string; comment: string } | undefined> {
  const names = environmentNames(plan);
  const name = names.length ? await pickEnvironmentName(plan, 'Approve Release: for which environment?') : plan.release.environment;
  if (!name) return undefined;
  const resolved = planForEnvironment(plan, name);
  if (!resolved.ok) throw new Error(resolved.message);
  const v = await vscode.window.showInputBox({
    title: `Approve ${plan.release.name} for ${name}: version`,
    value: version,
    ignoreFocusOut: true,
    validateInput: (x) => (/^v?\d+\.\d+\.\d+\S*$/.test(x.trim()) ? undefined : 'expected a version such as 1.4.0'),
  });
  if (!v) return undefined;
  const comment = await vscode.window.showInputBox({ title: `Approve ${plan.release.name} ${v} for ${name}: comment (optional)`, ignoreFocusOut: true });
  if (comment === undefined) return undefined;
  return { plan: resolved.plan, version: v.trim().replace(/^v/, ''), comment };
}

/**
 * The environment gates judged again, as a release of this version from HEAD started by this person
 * would meet them: after Approve Release, on Refresh, and when git's refs move while a check is shown,
 * so an approval given (or fetched) since the last run shows at once. The tree shows it until the
 * next reload; the run judges again.
 */
export async function checkGatesNow(c: ReleaseController, log: vscode.LogOutputChannel, environment?: string, version?: string): Promise<void> {
  const plan = c.plan?.ok ? c.plan : undefined;
  const last = c.state ? { environment: c.state.environment, version: c.state.version } : undefined;
  const target = plan && environmentToCheck(plan.plan, last, environment && version ? { environment, version } : c.gatesNow);
  // Nothing to judge, or not here: the engine (and git) is loaded only for an environment that declares gates.
  if (!vscode.workspace.isTrusted || c.live || !c.workspaceDir || !plan || !target || !hasGates(environmentOf(plan.plan, target.environment)?.env)) return;
  const before = c.gatesStamp();
  try {
    const now = await engine().gatesNow(c.workspaceDir, plan.file, plan.plan, plan.text, target.environment, target.version);
    // A reload or a release meanwhile: this answer may be older than what they show; the next check or the run says more.
    if (c.gatesStamp() !== before || c.live) return;
    if (now) c.reload(now);
  } catch (err) {
    log.warn(`the gates of ${target.environment} could not be checked now: ${(err as Error).message}`);
  }
}

/** A commit, a fetched or a deleted tag can change what the gates say: while a check is shown, it is made again once git settles. */
export function watchGitForGates(c: ReleaseController, log: vscode.LogOutputChannel): vscode.Disposable {
  const folder = c.folder;
  if (!folder) return { dispose: () => {} };
  const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '.git/{HEAD,packed-refs,refs/**}'));
  let timer: NodeJS.Timeout | undefined;
  const again = () => {
    if (!c.gatesNow) return;
    clearTimeout(timer);
    timer = setTimeout(() => void checkGatesNow(c, log), 500);
  };
  const subs = [watcher.onDidChange(again), watcher.onDidCreate(again), watcher.onDidDelete(again)];
  return vscode.Disposable.from(...subs, watcher, { dispose: () => clearTimeout(timer) });
}
