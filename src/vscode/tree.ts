import * as path from 'node:path';
import * as vscode from 'vscode';
import { PHASE_TITLES, PHASES, type PhaseId } from '../core/model/schema';
import type { ReleaseController } from './controller';
import { statusName } from '../core/model/releaseState';
import { type StepView } from '../core/model/stateViews';
import { unitsFor } from '../core/engine/run/phaseUnits';
import { COMMANDS } from './commandIds';
import { Disposable } from './dispose';
import {
  childrenKey,
  ENVIRONMENT_GATES,
  itemSignature,
  nodeKey,
  secs,
  showState,
  type EnvironmentGateId,
  type GateId,
  type GateState,
  type Node,
} from './treeNodes';
import { environmentOf } from '../core/plan/environments';
import { shortTime } from '../core/engine/queries/releaseHistory';
import { databaseStrategyText } from '../core/model/dbStrategyText';
import { formatCountdown } from '../core/format';
import { exceptText } from '../core/model/needsAttention';
import { rowLook, type RowKind } from './rowState';

/** A row as its builder makes it: the item, and the state it shows (none for a group, which has no icon). */
type Row = [vscode.TreeItem, [RowKind, string] | null];

/** Maps the controller's state to tree items; no I/O and no prompts happen here. */
export class ReleaseTreeProvider extends Disposable implements vscode.TreeDataProvider<Node> {
  private readonly emitter = this.register(new vscode.EventEmitter<Node | Node[] | undefined>());
  readonly onDidChangeTreeData = this.emitter.event;
  /** One object per node key: VS Code knows tree elements by identity, so a refresh names the very object it showed. */
  private readonly nodes = new Map<string, Node>();
  /** What VS Code last fetched: each row's look and each parent's children. */
  private readonly fetched = new Map<string, string>();
  private recheck?: NodeJS.Timeout;
  private rechecks = 0;

  constructor(private readonly c: ReleaseController) {
    super();
    // A refreshed row gets a new command handle: a click landing on it meanwhile is lost, so rows that
    // did not change are never refreshed (a metric sample changes the monitoring row at most).
    this.register(
      c.onDidChange(() => {
        this.rechecks = 0;
        this.refreshChanged();
      }),
    );
    this.register({ dispose: () => clearTimeout(this.recheck) });
  }

  private node<N extends Node>(n: N): N {
    const key = nodeKey(n);
    const known = this.nodes.get(key);
    if (known) return known as N;
    this.nodes.set(key, n);
    return n;
  }

  /**
   * Fires for the rows (and child lists) that differ from what VS Code last fetched. A refresh VS Code
   * dropped (it names a row it had not fetched yet, or one whose parent was being refetched) leaves
   * the row stale: it is seen at the recheck, which fires again until VS Code has fetched every change.
   */
  private refreshChanged(): void {
    clearTimeout(this.recheck);
    const stale: Node[] = [];
    let rootStale = false;
    const visit = (parent: Node | undefined) => {
      const kids = this.children(parent);
      const before = this.fetched.get(childrenKey(parent));
      if (before !== undefined && before !== kids.map(nodeKey).join('\n')) {
        if (parent) stale.push(parent);
        else rootStale = true;
      }
      for (const k of kids) {
        const shown = this.fetched.get(nodeKey(k));
        if (shown !== undefined && shown !== itemSignature(this.build(k))) stale.push(k);
        visit(k);
      }
    };
    visit(undefined);
    if (rootStale) this.emitter.fire(undefined);
    else if (stale.length) this.emitter.fire([...new Set(stale)]);
    if ((rootStale || stale.length) && this.rechecks++ < 10 && !this.isDisposed) this.recheck = setTimeout(() => this.refreshChanged(), 1000);
  }

  getChildren(node?: Node): Node[] {
    this.c.ensureLoaded();
    const kids = this.children(node);
    this.fetched.set(childrenKey(node), kids.map(nodeKey).join('\n'));
    return kids;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    const item = this.build(node);
    this.fetched.set(nodeKey(node), itemSignature(item));
    return item;
  }

  private anyGateBlocked(): boolean {
    return this.gates().some((g) => this.gateState(g).state === 'blocked');
  }

  private children(node?: Node): Node[] {
    const plan = this.c.plan?.ok ? this.c.plan.plan : undefined;
    if (!node) {
      if (!this.c.plan) return [];
      const roots: Node[] = [
        { kind: 'release' },
        { kind: 'group', id: 'gates', blocked: this.anyGateBlocked() },
        { kind: 'group', id: 'checklist' },
        { kind: 'group', id: 'phases' },
      ];
      if (this.c.state?.rollback) roots.push({ kind: 'rollback' });
      return roots.map((n) => this.node(n));
    }
    if (node.kind === 'group' && node.id === 'gates') return this.gates().map((id) => this.node({ kind: 'gate', id }));
    if (node.kind === 'group' && node.id === 'checklist') return (plan?.checklist ?? []).map((i) => this.node({ kind: 'checklist', id: i.id }));
    if (node.kind === 'group' && node.id === 'phases')
      return PHASES.filter((p) => !plan || unitsFor(plan, p).length > 0).map((id) => this.node({ kind: 'phase', id, ran: this.phaseRan(id) }));
    if (node.kind === 'phase') {
      const s = this.c.state;
      const ran = s?.phases.find((p) => p.id === node.id)?.steps ?? [];
      return ran.map((key) => this.node({ kind: 'step', key, phase: node.id }));
    }
    if (node.kind === 'rollback')
      return Object.values(this.c.state?.steps ?? {})
        .filter((st) => st.phase === 'rollback')
        .map((st) => this.node({ kind: 'step', key: st.key, phase: 'rollback' }));
    return [];
  }

  getParent(node: Node): Node | undefined {
    if (node.kind === 'gate') return this.node({ kind: 'group', id: 'gates', blocked: this.anyGateBlocked() });
    if (node.kind === 'checklist') return this.node({ kind: 'group', id: 'checklist' });
    if (node.kind === 'phase') return this.node({ kind: 'group', id: 'phases' });
    if (node.kind === 'step') return node.phase === 'rollback' ? this.node({ kind: 'rollback' }) : this.node({ kind: 'phase', id: node.phase, ran: true });
    return undefined;
  }

  /** Every row goes through here: the state its builder names becomes its icon and what a screen reader says of it. */
  private build(node: Node): vscode.TreeItem {
    const [item, state] = this.row(node);
    return state ? showState(item, rowLook(...state)) : item;
  }

  private row(node: Node): Row {
    switch (node.kind) {
      case 'release':
        return this.releaseItem();
      case 'group': {
        // Gates that are open or not yet checked fold into one summary row; a blocked gate opens the group (a new id, so VS Code applies it).
        // The node decides (see nodeKey): an element's id never changes, or VS Code's handle for it would.
        const blocked = node.id === 'gates' && (node.blocked ?? this.anyGateBlocked());
        const folded = node.id === 'gates' && !blocked;
        const item = new vscode.TreeItem(
          node.id === 'gates' ? 'Gates' : node.id === 'checklist' ? 'Checklist' : 'Phases',
          folded ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded,
        );
        item.id = blocked ? 'group:gates:blocked' : `group:${node.id}`;
        item.contextValue = `group:${node.id}`;
        if (node.id === 'checklist') {
          const items = this.c.plan?.ok ? this.c.plan.plan.checklist : [];
          const done = items.filter((i) => ['passed', 'waived'].includes(this.checklistState(i.id).state)).length;
          item.description = `${done}/${items.length}`;
        }
        if (node.id === 'gates') item.description = `${this.gates().filter((g) => this.gateState(g).state === 'open').length}/${this.gates().length} open`;
        return [item, null];
      }
      case 'gate':
        return this.gateItem(node.id);
      case 'checklist':
        return this.checklistItem(node.id);
      case 'phase':
        return this.phaseItem(node.id, node.ran ?? this.phaseRan(node.id));
      case 'step':
        return this.stepItem(node.key);
      case 'rollback': {
        const rb = this.c.state!.rollback!;
        const state = rb.outcome === 'rolled-back' ? 'passed' : rb.outcome === 'rollback-failed' ? 'failed' : 'running';
        const label = rb.outcome === 'rollback-failed' ? 'ROLLBACK FAILED' : rb.needsAttention?.length ? 'Rollback: hosts need a person' : 'Rollback';
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = 'rollback';
        item.description = `${rb.trigger}: ${rb.reason}`;
        item.tooltip = new vscode.MarkdownString().appendText(
          `Trigger: ${rb.trigger} (${rb.by})\nReason: ${rb.reason}\nStarted ${rb.latencyMs} ms after the trigger\nOutcome: ${rb.outcome ?? 'running'}${exceptText(rb.needsAttention)}${rb.database ? `\nDatabase (${rb.database.strategy}): ${rb.database.message}` : ''}`,
        );
        item.contextValue = `rollback:${state}`;
        return [item, ['rollback', rb.outcome ?? 'running']];
      }
    }
  }

  /** The base gates, then those the run journaled or the environment of the last run (or any of the plan's) declares. */
  private gates(): GateId[] {
    const plan = this.c.plan?.ok ? this.c.plan.plan : undefined;
    const name = this.c.gatesNow?.environment ?? this.c.state?.environment;
    const env = plan && name ? environmentOf(plan, name)?.env : undefined;
    const envs = env ? [env] : Object.values(plan?.environments ?? {});
    const declared = (id: EnvironmentGateId) =>
      this.c.state?.gates[id] !== undefined ||
      envs.some((e) => (id === 'freeze' ? e.freeze.length > 0 : id === 'promotion' ? e.requires !== undefined : e.approvals !== undefined));
    return ['acceptance', 'rollback-plan', ...(Object.keys(ENVIRONMENT_GATES) as EnvironmentGateId[]).filter(declared)];
  }

  /** A gate as judged since the last run (after an approval, or on Refresh), else as the last run journalled it; before any run, what the plan alone tells. */
  gateState(id: GateId): { state: 'open' | 'blocked' | 'pending'; detail: string } {
    const now = this.c.gatesNow?.verdicts.find((v) => v.gate === id);
    if (now) return { state: now.state, detail: `checked ${shortTime(this.c.gatesNow!.at).slice(11)}: ${now.message}` };
    const journaled = this.c.state?.gates[id];
    if (journaled) return { state: journaled.state, detail: journaled.message };
    const plan = this.c.plan?.ok ? this.c.plan.plan : undefined;
    if (id === 'rollback-plan' && plan && plan.rollback.steps.length === 0)
      return { state: 'blocked', detail: 'no rollback plan: a release never starts without one' };
    return { state: 'pending', detail: 'checked when the release starts' };
  }

  private gateItem(id: GateId): Row {
    const st = this.gateState(id);
    const plan = this.c.plan?.ok ? this.c.plan.plan : undefined;
    const title = id === 'acceptance' ? 'Acceptance verdict' : id === 'rollback-plan' ? 'Rollback plan' : ENVIRONMENT_GATES[id];
    const item = new vscode.TreeItem(title, vscode.TreeItemCollapsibleState.None);
    item.id = `gate:${id}`;
    const lines = [`${title}: ${st.state}`, st.detail];
    if (id === 'acceptance' && plan) {
      const a = plan.acceptance;
      lines.push(`Expects a line that says "${a.expect}" from ${a.file ? `file ${a.file}` : a.command ? `command ${a.command}` : `url ${a.url}`}`);
      const said = this.c.state?.acceptance;
      if (said) lines.push(`It said: "${said.said}"`);
    }
    if (id === 'rollback-plan' && plan) {
      lines.push(...plan.rollback.steps.map((s, i) => `${i + 1}. ${s.name}`));
      if (plan.rollback.database) lines.push(`Then, when the migration started: ${databaseStrategyText(plan.rollback.database)}`);
    }
    const g = this.c.gatesNow;
    if (g?.verdicts.some((v) => v.gate === id))
      lines.push(
        `Checked at ${shortTime(g.at)} for ${g.version} to ${g.environment} at ${g.commit?.slice(0, 12) ?? '(no commit)'}, as a release started by ${g.operator} then would meet it; checked again when git's refs move, and on Refresh. The release judges it again when it starts.`,
      );
    item.description =
      st.state === 'pending'
        ? id === 'acceptance' && plan
          ? `expects "${plan.acceptance.expect}"`
          : id === 'rollback-plan' && plan
            ? `${plan.rollback.steps.length} step(s)`
            : 'pending: checked when the release starts'
        : st.detail;
    item.tooltip = new vscode.MarkdownString().appendText(lines.filter(Boolean).join('\n'));
    item.contextValue = `gate:${id}:${st.state}`;
    return [item, ['gate', st.state]];
  }

  checklistState(id: string): { state: GateState; detail: string; by?: string; reason?: string } {
    // A check the person ran from the tree since is newer than what the last run journaled.
    const pre = this.c.prechecks.get(id);
    if (pre && !this.c.isRunning) return { state: pre.state, detail: pre.detail, by: pre.by, reason: pre.reason };
    const journaled = this.c.state?.checklist.find((c) => c.id === id);
    if (journaled) return { state: journaled.state, detail: journaled.detail ?? '', by: journaled.by, reason: journaled.reason };
    if (pre) return { state: pre.state, detail: pre.detail, by: pre.by, reason: pre.reason };
    return { state: 'pending', detail: '' };
  }

  private releaseItem(): Row {
    const s = this.c.state;
    const plan = this.c.plan;
    const item = new vscode.TreeItem('', vscode.TreeItemCollapsibleState.None);
    item.id = 'release';
    if (!plan?.ok) {
      item.label = 'Release plan has problems';
      item.description = plan ? `${plan.problems.length} problem(s)` : '';
      item.command = { command: COMMANDS.validatePlan, title: 'Validate Plan' };
      item.contextValue = 'release:invalid';
      return [item, ['release', 'invalid']];
    }
    const p = plan.plan.release;
    if (!s) {
      item.label = `${p.name} ${p.version}`;
      item.description = `→ ${p.environment} · not started`;
      item.command = { command: COMMANDS.startRelease, title: 'Start Release' };
      item.contextValue = 'release:none';
      return [item, ['release', 'not-started']];
    }
    item.label = `${s.name} ${s.version}`;
    item.description = `→ ${s.environment} · ${statusName(s)}`;
    const md = new vscode.MarkdownString();
    md.appendMarkdown('**').appendText(`${s.name} ${s.version}`).appendMarkdown('** → ').appendText(s.environment).appendMarkdown('\n\n');
    md.appendText(
      `Status: ${statusName(s)}${s.outcomeMessage ? ` — ${s.outcomeMessage}` : ''}\nRun ${s.runId}, started ${s.startedAt} by ${s.user}${s.pausedAt ? `\nPaused: ${s.pausedAt.message}` : ''}`,
    );
    item.tooltip = md;
    item.contextValue = `release:${s.status}${this.c.rollbackUntil() ? ':rollback' : ''}`;
    item.command = { command: COMMANDS.openReport, title: 'Open Release Report' };
    return [item, ['release', s.status]];
  }

  private checklistItem(id: string): Row {
    const def = this.c.plan?.ok ? this.c.plan.plan.checklist.find((c) => c.id === id) : undefined;
    const st = this.checklistState(id);
    const item = new vscode.TreeItem(def?.title ?? id, vscode.TreeItemCollapsibleState.None);
    item.id = `checklist:${id}`;
    const kind = def?.git ? 'git' : def?.files ? 'files' : def?.run ? 'command' : 'manual';
    item.description =
      st.state === 'waived'
        ? `waived by ${st.by}: ${st.reason}`
        : st.state === 'passed' && st.by
          ? `ticked by ${st.by}`
          : st.detail
            ? st.detail
            : kind === 'manual'
              ? 'click to tick'
              : 'click to check';
    item.tooltip = new vscode.MarkdownString().appendText(`${def?.title ?? id} (${kind} check)\nState: ${st.state}${st.detail ? `\n${st.detail}` : ''}`);
    item.contextValue = `checklist:${st.state}:${kind}`;
    item.command = { command: COMMANDS.checkItem, title: 'Run Check', arguments: [id] };
    return [item, ['checklist', st.state]];
  }

  private phaseRan(id: PhaseId): boolean {
    return (this.c.state?.phases.find((x) => x.id === id)?.steps.length ?? 0) > 0;
  }

  private phaseItem(id: PhaseId, ran: boolean): Row {
    const p = this.c.state?.phases.find((x) => x.id === id);
    const gate = this.c.state?.gates[id];
    const state: GateState = gate?.state === 'blocked' && p?.state !== 'passed' ? 'blocked' : (p?.state ?? 'pending');
    // The node decides: an element's id never changes, or VS Code's handle for it would.
    const item = new vscode.TreeItem(PHASE_TITLES[id], ran ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    // VS Code keeps a node's first collapsible state for its id: a phase that starts running gets a new id, so it opens.
    item.id = `phase:${id}:${ran ? 'ran' : 'idle'}`;
    item.description = state === 'blocked' ? gate!.message : p?.durationMs !== undefined ? `${state} · ${secs(p.durationMs)}` : state;
    if (id === 'monitoring' && state === 'running' && this.c.plan?.ok) {
      const started = Date.parse(this.c.state!.monitoring?.startedAt ?? '');
      const ends = started + this.c.plan.plan.monitoring.window;
      if (Number.isFinite(ends)) item.description = `running · ${formatCountdown(ends)} left`;
    }
    const canary = this.c.state?.canary;
    // A canary's step and weight, in words on the deploy row: the share of production on the new version.
    if (id === 'deploy' && canary && state === 'running') item.description = `running · canary ${canary.weight} % (step ${canary.index}/${canary.of})`;
    item.tooltip = new vscode.MarkdownString().appendText(`${PHASE_TITLES[id]}: ${state}${gate ? `\nGate: ${gate.message}` : ''}`);
    item.contextValue = `phase:${state}`;
    return [item, ['phase', state]];
  }

  private stepItem(key: string): Row {
    const st: StepView | undefined = this.c.state?.steps[key];
    const item = new vscode.TreeItem(st?.name ?? key, vscode.TreeItemCollapsibleState.None);
    item.id = `step:${key}`;
    if (!st) return [item, null];
    const parts: string[] = [];
    if (st.state === 'waived') parts.push(`waived by ${st.waivedBy}: ${st.waiveReason}`);
    else {
      if (st.durationMs !== undefined) parts.push(secs(st.durationMs));
      // An interrupted step says so in words (why is in the tooltip): its message is long and the row is cut.
      if (st.state === 'interrupted') parts.push('interrupted');
      else if (st.state === 'failed') parts.push(st.message ?? st.state);
      else if (st.exitCode !== undefined && st.exitCode !== null && st.state !== 'running') parts.push(`exit ${st.exitCode}`);
      if (st.attempts > 1) parts.push(`attempt ${st.attempts}`);
    }
    item.description = parts.join(' · ');
    const md = new vscode.MarkdownString();
    md.appendText(`${st.name}: ${st.state}\n$ ${st.command}${st.message ? `\n${st.message}` : ''}${st.tail ? `\n\n${st.tail}` : ''}`);
    item.tooltip = md;
    item.contextValue = `step:${st.state}${st.log ? ':log' : ''}`;
    if (st.log && this.c.runDir) item.command = { command: COMMANDS.openStepLog, title: 'Open Log', arguments: [path.join(this.c.runDir, st.log)] };
    return [item, ['step', st.state]];
  }
}
