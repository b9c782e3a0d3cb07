import { main } from '../../src/cli/cliMain';
import { EXIT } from '../../src/cli/args';

/**
 * The CLI's `main` in this process, as `node dist/cli.js ARGS` runs it in `cwd` with `env` over this
 * process's environment (a value undefined: unset), both given back after; an error thrown ends as the
 * CLI ends it. Its output as spawnSync gives a real CLI's: what a corpus of refusals runs case by case,
 * beside a case or two through the real process.
 */
export async function cliInProcess(
  args: string[],
  o: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const cwd = process.cwd();
  const saved = Object.fromEntries(Object.keys(o.env ?? {}).map((k) => [k, process.env[k]]));
  const set = (env: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(env))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  };
  try {
    set(o.env ?? {});
    if (o.cwd) process.chdir(o.cwd);
    const status = await main(args, { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`) });
    return { status, stdout, stderr };
  } catch (e) {
    return { status: EXIT.failed, stdout, stderr: `${stderr}release-pilot: ${(e as Error).message}\n` };
  } finally {
    process.chdir(cwd);
    set(saved);
  }
}
