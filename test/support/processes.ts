import * as fs from 'node:fs';

/** Whether a process with this pid still exists (zombies count as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** The one scan of /proc: every live (not zombie) process for which `match` holds, as `pid command line`. */
export function processesWhere(match: (p: { pid: number; cwd: string; cmd: string }) => boolean): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (state === 'Z') continue;
      // Another user's process may hide its cwd: it then matches by its command line only.
      let cwd = '';
      try {
        cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // unreadable
      }
      if (match({ pid: Number(pid), cwd, cmd })) found.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Processes whose working folder or command line points into `dir`. */
export function processesIn(dir: string): string[] {
  return processesWhere((p) => p.cwd.startsWith(dir) || p.cmd.includes(dir));
}

/**
 * Kills the watchers of the steps running in `dir` (contain.ts: each waits on its release's lifeline,
 * outside the step's cgroup, to kill the step if the release dies). With them gone first, a kill -9 of
 * the release leaves its step running, as a crash of the whole machine's supervision would: what a
 * reopened journal (resume, rollback, abandon) must then end itself. How many were killed.
 */
export function killStepWatchers(dir: string): number {
  const watchers = processesWhere((p) => p.cwd.startsWith(dir) && p.cmd.includes('release-pilot-enter') && p.cmd.includes('cgroup.kill'));
  for (const w of watchers) process.kill(Number(w.split(' ')[0]), 'SIGKILL');
  return watchers.length;
}
