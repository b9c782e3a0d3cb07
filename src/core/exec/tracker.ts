import * as fs from 'node:fs';
import { carriesMark } from './cookie';
import { processStat } from './identity';

/**
 * Where no cgroup can be made (not root, a read-only cgroupfs: contain.ts says so), a step's tree is
 * followed as it grows: while the step runs, /proc is read every `everyMs` and every process whose
 * parent is already the step's, that is in the step's process group, or that carries the step's mark
 * joins the step's set, by pid AND start time (a pid reused later is never taken for it). A daemon
 * that leaves the group (`setsid`), is handed to init by a double fork, and then clears its
 * environment or rewrites its title is still the step's once one read saw it linked: it is signalled
 * with the rest when the step is cut short. One that leaves and hides between two reads is not seen:
 * only a cgroup proves a whole tree.
 */
export class Descendants {
  /** pid → start ticks, as first seen. */
  private readonly known = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly root: number,
    private readonly mark: string,
    everyMs = 100,
  ) {
    const s = processStat(root);
    if (s) this.known.set(root, s.start.ticks);
    this.scan();
    this.timer = setInterval(() => this.scan(), everyMs);
    this.timer.unref();
  }

  /** One read of /proc: whatever is linked to the set now joins it (until nothing more does). */
  scan(): void {
    if (this.stopped) return;
    let pids: number[];
    try {
      pids = fs
        .readdirSync('/proc')
        .filter((e) => /^\d+$/.test(e))
        .map(Number)
        .filter((p) => p !== process.pid);
    } catch {
      return;
    }
    const stats = pids.map((p) => processStat(p)).filter((s) => s !== undefined);
    const startOf = new Map(stats.map((s) => [s.pid, s.start.ticks]));
    // A parent is the step's only while it is the process seen (its pid not reused since).
    const ours = (pid: number) => this.known.has(pid) && this.known.get(pid) === startOf.get(pid);
    for (let grew = true; grew;) {
      grew = false;
      for (const s of stats) {
        if (this.known.has(s.pid) || s.state === 'Z') continue;
        if (ours(s.ppid) || s.pgid === this.root || carriesMark(s.pid, this.mark)) {
          this.known.set(s.pid, s.start.ticks);
          grew = true;
        }
      }
    }
  }

  /** The tracked processes still running: the same pid with the same start. */
  live(): number[] {
    const out: number[] = [];
    for (const [pid, ticks] of this.known) {
      const s = processStat(pid);
      if (s && s.start.ticks === ticks && s.state !== 'Z') out.push(pid);
    }
    return out;
  }

  /** Signals every tracked process still running (a last read first); how many. */
  signal(signal: NodeJS.Signals): number {
    this.scan();
    let n = 0;
    for (const pid of this.live()) {
      try {
        process.kill(pid, signal);
        n++;
      } catch {
        // ended meanwhile
      }
    }
    return n;
  }

  /** Stops following the tree (the step is over). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}

/** The tree of a step spawned as `pid` followed from now, when no cgroup holds it (`container` undefined). */
export function trackUnlessContained(container: unknown, pid: number | undefined, mark: string): Descendants | undefined {
  return container || pid === undefined ? undefined : new Descendants(pid, mark);
}
