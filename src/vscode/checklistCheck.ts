import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ChecklistItem } from '../core/model/schema';
import type { LoadResult } from '../core/plan/load';
import { SecretMasker } from '../core/exec/mask';
import { interpolate } from '../core/plan/scope';
import { secretValues } from '../core/engine/gates/secrets';
import { engine } from './lazyEngine';

/** A checklist item as the tree shows it before a release: checked here, ticked or waived by a person. */
export interface Precheck {
  state: 'checking' | 'passed' | 'failed' | 'waived';
  detail: string;
  by?: string;
  reason?: string;
}

/** The plan file of a workspace folder: the `releasePilot.planPath` setting, else `.release/plan.yaml`. */
export function planFileOf(f: vscode.WorkspaceFolder | undefined): string | undefined {
  if (!f) return undefined;
  const rel = vscode.workspace.getConfiguration('releasePilot', f.uri).get<string>('planPath') || '.release/plan.yaml';
  return path.resolve(f.uri.fsPath, rel);
}

/** The folder steps run in: the one that holds `.release/`. */
export function workspaceOf(plan: string | undefined): string | undefined {
  if (!plan) return undefined;
  const dir = path.dirname(plan);
  return path.basename(dir) === '.release' ? path.dirname(dir) : dir;
}

/** Runs a checklist item's check now, as the release will (which runs it again, journaled); what it says is masked. */
export async function checkNow(item: ChecklistItem, ws: string, planFile: string, result: Extract<LoadResult, { ok: true }>): Promise<Precheck> {
  const masker = new SecretMasker(secretValues(result.text, result.plan, process.env));
  let out: { ok: boolean; detail: string };
  try {
    const scope = await engine().beforeRunScope(ws, result.plan, path.relative(ws, planFile) || planFile, result.text, process.env);
    const resolve = (t: string) => interpolate(t, scope);
    const { tagPrefix } = result.plan.release;
    out = await engine().runCheck(item, ws, scope.builtins['release.version']!, tagPrefix, masker, resolve, { env: result.plan.env });
  } catch (e) {
    out = { ok: false, detail: masker.mask((e as Error).message) };
  }
  return { state: out.ok ? 'passed' : 'failed', detail: out.detail };
}
