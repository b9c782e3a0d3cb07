import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where the system can hold a process tree whole, every step and every command of a release runs in a
 * control group of its own (cgroup v2): `<cgroup2 mount>/release-pilot/<mark>`, named by the step's
 * mark. Nothing leaves a cgroup by `setsid`, a double fork, `env -i` or a rewritten process title
 * (OpenSSH's ControlPersist master does all of these), and only the kernel or root moves a process
 * out. So the group's member list is the step's whole tree, proven: what is in it is signalled, with
 * no pid read from /proc that could have been reused. The step's shell enters its cgroup itself before
 * it runs anything (the wrapper below), so no child can be forked outside it first.
 * Where no cgroup can be made (not root, no cgroup2, macOS), `contain` returns none and the process
 * group, the mark and the descendants followed while the step runs (signal.ts, tracker.ts) reach the tree.
 */
export interface Container {
  /** The cgroup's folder. */
  readonly dir: string;
}

const FOLDER = 'release-pilot';
/** An empty cgroup older than this was left by a step that ended (its daemons gone since): removed when the next is made. */
const PRUNE_AFTER_MS = 60_000;

let rootsCache: string[] | undefined;

/** The cgroup2 folders a release may make its cgroups under: the mount's root, then this process's own cgroup (a delegated subtree). */
function cgroupRoots(): string[] {
  if (rootsCache) return rootsCache;
  const roots: string[] = [];
  try {
    const mounts = fs.readFileSync('/proc/self/mounts', 'utf8');
    const mount = /^\S+ (\S+) cgroup2 /m.exec(mounts)?.[1];
    if (mount) {
      roots.push(mount);
      const own = /^0::(\/.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
      if (own && own !== '/') roots.push(path.join(mount, own));
    }
  } catch {
    // No /proc (macOS): no cgroups.
  }
  return (rootsCache = roots);
}

const isMark = (mark: string | undefined): mark is string => !!mark && /^[0-9a-zA-Z_-]{8,128}$/.test(mark);

/**
 * The one decision of how a step or command is contained: a new cgroup named by `mark` when one can
 * be made, otherwise none (the process group and the mark then). `RELEASE_PILOT_NO_CGROUP=1` chooses
 * the fallback, as on a machine without cgroups.
 */
export function contain(mark: string): Container | undefined {
  if (process.env.RELEASE_PILOT_NO_CGROUP === '1' || !isMark(mark)) return undefined;
  for (const root of cgroupRoots()) {
    const parent = path.join(root, FOLDER);
    const dir = path.join(parent, mark);
    try {
      fs.mkdirSync(parent, { recursive: true });
      fs.mkdirSync(dir);
      fs.accessSync(path.join(dir, 'cgroup.procs'), fs.constants.W_OK);
      prune(parent, dir);
      return { dir };
    } catch {
      try {
        fs.rmdirSync(dir);
      } catch {
        // never made
      }
    }
  }
  return undefined;
}

/** The cgroup of a recorded mark, when it still exists (a reopened journal's interrupted step). */
export function containerOf(mark: string | undefined): Container | undefined {
  if (!isMark(mark)) return undefined;
  for (const root of cgroupRoots()) {
    const dir = path.join(root, FOLDER, mark);
    if (fs.existsSync(path.join(dir, 'cgroup.procs'))) return { dir };
  }
  return undefined;
}

/**
 * The program to spawn so that it runs inside `c`: a shell that writes its own pid into the cgroup
 * and then becomes the program (same pid), or refuses to run it when it cannot enter.
 * With `lifeline` (a file descriptor the release holds the other end of, see `releaseLifeline`), a
 * watcher left outside the cgroup reads it: a line means the step ended and the release let it go (its
 * daemons stay, as any step's may); end-of-file means the release itself died (kill -9, a crash) with
 * the step still running, and the whole cgroup is killed, so nothing a release started runs on with
 * nobody to watch it or journal it.
 */
export function enterCommand(c: Container | undefined, file: string, args: string[], lifeline?: number): { file: string; args: string[] } {
  if (!c) return { file, args };
  const watch =
    lifeline === undefined
      ? ''
      : `( exec < /dev/null > /dev/null 2>&1; read -r _ <&${lifeline} || echo 1 > "$1/cgroup.kill" || kill -KILL $(cat "$1/cgroup.procs") ) & exec ${lifeline}<&-; `;
  const enter = `${watch}echo $$ > "$1/cgroup.procs" || { echo "release-pilot: cannot enter the cgroup $1" >&2; exit 125; }; shift; exec "$@"`;
  return { file: '/bin/sh', args: ['-c', enter, 'release-pilot-enter', c.dir, file, ...args] };
}

/** The release's end of a step's lifeline (`enterCommand`): a line lets the watcher go without killing anything. */
export function releaseLifeline(end: NodeJS.WritableStream | null | undefined): void {
  if (!end) return;
  end.on?.('error', () => {});
  end.end('released\n');
}

/** The pids in the cgroup now (its sub-cgroups included). */
export function members(c: Container): number[] {
  const out: number[] = [];
  const walk = (dir: string) => {
    try {
      for (const line of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (/^\d+$/.test(line)) out.push(Number(line));
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
    } catch {
      // removed meanwhile
    }
  };
  walk(c.dir);
  return out;
}

/** Whether any process is still in the cgroup (false once it is removed). */
export function populated(c: Container): boolean {
  try {
    return /^populated 1$/m.test(fs.readFileSync(path.join(c.dir, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Signals every process in the cgroup; how many there were. SIGKILL goes through `cgroup.kill` (one
 * write, which also reaches a child forked while it runs); without it (kernels before 5.14) the cgroup
 * is frozen, each member killed, then thawed, so none can fork meanwhile.
 */
export function signalContainer(c: Container, signal: NodeJS.Signals): number {
  const pids = members(c);
  if (pids.length === 0) return 0;
  if (signal === 'SIGKILL' && write(path.join(c.dir, 'cgroup.kill'), '1')) return pids.length;
  const frozen = signal === 'SIGKILL' && write(path.join(c.dir, 'cgroup.freeze'), '1');
  for (const pid of frozen ? members(c) : pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // ended meanwhile
    }
  }
  if (frozen) write(path.join(c.dir, 'cgroup.freeze'), '0');
  return pids.length;
}

/** Removes the cgroup once it is empty; false while a process is still in it. */
export function removeContainer(c: Container): boolean {
  try {
    fs.rmdirSync(c.dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function write(file: string, text: string): boolean {
  try {
    fs.writeFileSync(file, text);
    return true;
  } catch {
    return false;
  }
}

/** Removes the empty cgroups of steps that ended a while ago (their kept daemons gone since). */
function prune(parent: string, except: string): void {
  try {
    const now = Date.now();
    for (const name of fs.readdirSync(parent)) {
      const dir = path.join(parent, name);
      if (dir === except) continue;
      try {
        if (now - fs.statSync(dir).mtimeMs > PRUNE_AFTER_MS && !populated({ dir })) fs.rmdirSync(dir);
      } catch {
        // another release's, in use or gone
      }
    }
  } catch {
    // unreadable: nothing to prune
  }
}
