import { carriesMark, processesWithMark } from './cookie';
import { describeStart, groupMembers, isProcessId, processStat, recordedProcess, type ProcessStart } from './identity';
import { containerOf, members, signalContainer } from './contain';
import type { Descendants } from './tracker';

/** What was recorded of a step's (or a short command's) processes when it was spawned. */
export interface RecordedProcesses {
  /** The leader's pid, which is also the id of the process group it leads. */
  pid?: number;
  /** When the leader started (absent in older journals). */
  start?: ProcessStart;
  /** The value of RELEASE_PILOT_STEP in the environment of every process it started. */
  mark?: string;
  /** Its tree as followed while it runs, where no cgroup holds it (tracker.ts). */
  tracked?: Descendants;
}

export interface Signalled {
  /** The process group signalled, proven the step's. */
  group?: number;
  /** How many processes carrying the mark were signalled, in the group or outside it. */
  marked: number;
  /** How many processes only the step's cgroup reached (out of its group, their environment cleared or overwritten). */
  contained: number;
  /** How many processes of the followed tree were signalled (where no cgroup holds the step). */
  tracked?: number;
  /** What was found at the recorded pid or group instead of the step's processes: nothing was signalled there. */
  refused?: string;
}

/** Why the recorded group is ours, or what was found in its place. */
type GroupProof = { ours: true } | { ours: false; found?: string };

/**
 * Whether the process group `r.pid` is the one recorded. Its leader proves it when it started at the
 * recorded time AND carries the mark (or is this process's own child: a child not yet reaped keeps its
 * pid, and its start tells it from an earlier child). With the leader gone, the group is ours only when
 * every member carries the mark. Without a recorded start (an older journal), the group is never proven.
 */
function proveGroup(r: RecordedProcesses & { pid: number }): GroupProof {
  if (!r.start) {
    if (!recordedProcessOrGroup(r.pid)) return { ours: false };
    return { ours: false, found: `pid ${r.pid} has no recorded start time (an older journal), so only processes carrying the step's mark were signalled` };
  }
  const leader = recordedProcess(r.pid, r.start);
  if (leader.is === 'other')
    return {
      ours: false,
      found: `pid ${r.pid} is not the step's process any more (started at ${describeStart(leader.stat.start)}, recorded ${describeStart(r.start)}): nothing signalled`,
    };
  if (leader.is === 'same') {
    const marked = carriesMark(r.pid, r.mark) || leader.stat.ppid === process.pid;
    if (marked && leader.stat.pgid === r.pid) return { ours: true };
    if (leader.stat.state !== 'Z')
      return {
        ours: false,
        found: `pid ${r.pid} started when recorded but ${marked ? `leads no process group (its group is ${leader.stat.pgid})` : "does not carry the step's mark"}: nothing signalled`,
      };
  }
  // The leader ended: the group lives on while a member does, and is the step's only if each carries the mark.
  if (!groupExists(r.pid)) return { ours: false };
  const members = groupMembers(r.pid);
  if (members.length === 0) return { ours: false };
  const strangers = members.filter((m) => !carriesMark(m.pid, r.mark));
  if (strangers.length === 0) return { ours: true };
  return {
    ours: false,
    found: `process group ${r.pid} is not the step's any more (${strangers.length} of its ${members.length} processes do not carry the step's mark, pid ${strangers[0].pid} among them): nothing signalled to the group`,
  };
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function recordedProcessOrGroup(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return groupExists(pid);
  }
}

/**
 * The one way Release Pilot signals what a step or a command started: the recorded process group only
 * once it is proven the recorded one (see proveGroup), and, unless `groupOnly`, every process carrying the
 * mark (a 96-bit value of the step's own; the processes that left the group), every process in the
 * cgroup the mark names (contain.ts; membership is the proof there) and, without a cgroup, every
 * process of the tree followed while the step ran (tracker.ts; pid and start time are the proof). Nothing else is signalled,
 * whatever the recorded pid now names.
 */
export function signalRecorded(r: RecordedProcesses, signal: NodeJS.Signals, o: { groupOnly?: boolean } = {}): Signalled {
  const out: Signalled = { marked: 0, contained: 0 };
  const container = o.groupOnly ? undefined : containerOf(r.mark);
  const outsideReach = container ? members(container).filter((pid) => !(processStat(pid)?.pgid === r.pid || carriesMark(pid, r.mark))) : [];
  if (isProcessId(r.pid)) {
    const proof = proveGroup({ ...r, pid: r.pid });
    if (proof.ours) {
      try {
        process.kill(-r.pid, signal);
        out.group = r.pid;
      } catch {
        // Ended meanwhile.
      }
    } else if (proof.found) out.refused = proof.found;
  }
  if (!o.groupOnly)
    for (const pid of processesWithMark(r.mark)) {
      try {
        process.kill(pid, signal);
        out.marked++;
      } catch {
        // Ended meanwhile.
      }
    }
  if (container && signalContainer(container, signal)) out.contained = outsideReach.length;
  if (!o.groupOnly && r.tracked) out.tracked = r.tracked.signal(signal);
  return out;
}
