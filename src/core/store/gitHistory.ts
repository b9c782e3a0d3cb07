import type { GitCli } from './gitCli';
import { runIdProblem } from '../model/runIdRule';
import { lockKeyProblem } from '../model/schema-store';
import { StoreDataError } from './storeRecords';

/** How many pushes of one run are read back at most: a run publishes a few dozen times. */
const MAX_PUSHES = 10_000;

/**
 * Checks that a run's ref grew as the store writes it: each push's journal extends the one of the push
 * before it (its first parent). A fast-forward push of a shorter or rewritten journal is a new commit
 * whose parent holds more; it is refused here as damage, naming the run, before any reader believes it.
 * `verified` holds the commits already checked (only what is new since is read).
 */
export async function verifyRunHistory(
  git: GitCli,
  read: (paths: string[]) => Promise<Map<string, string | Error>>,
  head: string,
  verified: Set<string>,
  where: string,
): Promise<void> {
  if (verified.has(head)) return;
  const all = (await git.text(['rev-list', '--first-parent', `--max-count=${MAX_PUSHES}`, head])).split('\n').filter(Boolean);
  const stop = all.findIndex((oid) => verified.has(oid));
  // Newest first: the commits to check, then the one verified before them (or the first push).
  const chain = (stop === -1 ? all : all.slice(0, stop + 1)).reverse();
  const texts = await read(chain.map((oid) => `${oid}:journal.jsonl`));
  let before: string | undefined;
  for (const oid of chain) {
    const text = texts.get(`${oid}:journal.jsonl`);
    if (text instanceof Error || text === undefined) throw new StoreDataError(`${where}: push ${oid.slice(0, 12)} has no readable journal.jsonl`);
    if (before !== undefined && !text.startsWith(before))
      throw new StoreDataError(
        `${where} is damaged: push ${oid.slice(0, 12)} holds a journal that is not an extension of the push before it (${before.split('\n').length - 1} events then, ${text.split('\n').length - 1} now): a journal in the store is never shortened or rewritten; someone pushed this ref by hand`,
      );
    before = text;
  }
  for (const oid of chain) verified.add(oid);
}

/** A key or run id that cannot be a ref name's last part is refused before git sees it. */
export function checkKey(key: string): void {
  const problem = lockKeyProblem(key);
  if (problem) throw new StoreDataError(problem);
}
export function checkRunId(runId: string): void {
  const problem = runIdProblem(runId);
  if (problem) throw new StoreDataError(problem);
}
