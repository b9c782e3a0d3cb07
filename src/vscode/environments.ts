import * as vscode from 'vscode';
import type { Plan } from '../core/plan/schema';
import { environmentNames, environmentOf, freezeAt, planForEnvironment } from '../core/plan/environments';

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
