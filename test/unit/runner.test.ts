import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StepRunner } from '../../src/core/exec/runner';
import { SecretMasker } from '../../src/core/exec/mask';
import { plainText } from '../../src/core/base/text';
import { tempDir } from '../support/helpers';
import { alive } from '../support/processes';
import { waitFor } from '../support/waitFor';

const runner = new StepRunner(new SecretMasker(['s3cr3t-value']), 300);

function pidsIn(file: string): number[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number) : [];
}

describe('step runner (real processes)', () => {
  it('records exit code, duration and output, and writes a log', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'step.log');
    const chunks: string[] = [];
    const r = await runner.run({ command: 'echo out; echo err >&2; exit 5', cwd: dir, env: process.env, timeoutMs: 10_000, logFile: log }, (c) =>
      chunks.push(c),
    ).result;
    assert.equal(r.exitCode, 5);
    assert.equal(r.timedOut, false);
    assert.ok(r.durationMs >= 0);
    assert.match(fs.readFileSync(log, 'utf8'), /out\n/);
    assert.match(chunks.join(''), /err/);
  });

  it('ends a step over its timeout together with its children, and no PID survives', async () => {
    const dir = tempDir();
    const pids = path.join(dir, 'pids');
    // A parent with two children and a grandchild, all sleeping; the parent would say so if it ever finished waiting.
    const cmd = `sleep 60 & echo $! >> ${pids}; (sleep 60 & echo $! >> ${pids}; wait) & echo $! >> ${pids}; echo $$ >> ${pids}; wait; touch ${dir}/ran-to-the-end`;
    const r = await runner.run({ command: cmd, cwd: dir, env: process.env, timeoutMs: 500, logFile: path.join(dir, 'l') }).result;
    assert.equal(r.timedOut, true);
    // Ended by the SIGTERM at its timeout: not by the SIGKILL after the grace, not by the sleeps ending.
    assert.equal(r.signal, 'SIGTERM');
    assert.ok(!fs.existsSync(path.join(dir, 'ran-to-the-end')), 'the step ran to its end');
    const all = pidsIn(pids);
    assert.equal(all.length, 4);
    assert.ok(await waitFor(() => all.every((p) => !alive(p)), 3000), `survivors: ${all.filter(alive).join(' ')}`);
  });

  it('ends a step that ignores SIGTERM with SIGKILL after the grace period', async () => {
    const dir = tempDir();
    const pids = path.join(dir, 'pids');
    const cmd = `trap '' TERM; echo $$ >> ${pids}; bash -c "trap '' TERM; echo \\$\\$ >> ${pids}; sleep 60" & wait`;
    const r = await runner.run({ command: cmd, cwd: dir, env: process.env, timeoutMs: 400, logFile: path.join(dir, 'l') }).result;
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    const all = pidsIn(pids);
    assert.equal(all.length, 2);
    assert.ok(await waitFor(() => all.every((p) => !alive(p)), 3000), `survivors: ${all.filter(alive).join(' ')}`);
  });

  it("ends a step when its shell exits, though a forked child still holds its output: the shell's exit is the result", async () => {
    const dir = tempDir();
    const pids = path.join(dir, 'pids');
    const r = await runner.run({
      command: `(sleep 60; echo late) & echo $! > ${pids}; echo parent done`,
      cwd: dir,
      env: process.env,
      timeoutMs: 5000,
      logFile: path.join(dir, 'l'),
    }).result;
    const [child] = pidsIn(pids);
    try {
      assert.equal(r.timedOut, false);
      assert.equal(r.exitCode, 0);
      assert.match(r.tail, /parent done/);
    } finally {
      process.kill(child, 'SIGKILL');
    }
  });

  it('lets a step start a daemon that detaches its output (a service the deploy starts)', async () => {
    const dir = tempDir();
    const pids = path.join(dir, 'pids');
    const r = await runner.run({
      command: `nohup sleep 30 > /dev/null 2>&1 & echo $! > ${pids}`,
      cwd: dir,
      env: process.env,
      timeoutMs: 5000,
      logFile: path.join(dir, 'l'),
    }).result;
    assert.equal(r.exitCode, 0);
    const [daemon] = pidsIn(pids);
    assert.ok(alive(daemon), 'the daemon keeps running after the step passed');
    process.kill(daemon, 'SIGKILL');
  });

  it('cancels on request, ending the whole tree', async () => {
    const dir = tempDir();
    const running = runner.run({ command: 'sleep 60', cwd: dir, env: process.env, timeoutMs: 60_000, logFile: path.join(dir, 'l') });
    setTimeout(() => running.cancel(), 200);
    const r = await running.result;
    assert.equal(r.cancelled, true);
    assert.ok(await waitFor(() => !alive(running.pid!), 3000));
  });

  it('passes input to the process when a terminal gives it', async () => {
    const dir = tempDir();
    const running = runner.run({
      command: 'read answer; echo "got $answer"',
      cwd: dir,
      env: process.env,
      timeoutMs: 5000,
      logFile: path.join(dir, 'l'),
      input: true,
    });
    running.write('yes\n');
    const r = await running.result;
    assert.equal(r.tail, 'got yes');
  });

  // Found by an outside attack: with nobody to type (the CLI), a step reading its input waited until its timeout (15 min by default).
  for (const [what, command, tail] of [
    ['cat', 'cat; echo "cat $?"', 'cat 0'],
    ['read', 'read -r line; echo "read $? [$line]"', 'read 1 []'],
    ['head -c', 'head -c 10 | wc -c', '0'],
    ['a child that reads', 'bash -c "cat >/dev/null"; echo "child $?"', 'child 0'],
  ] as const)
    it(`gives a step with no terminal an empty input: ${what} ends at once`, async () => {
      const dir = tempDir();
      const r = await runner.run({ command, cwd: dir, env: process.env, timeoutMs: 20_000, logFile: path.join(dir, 'l') }).result;
      // The reader saw the end of its input (its own exit status says so), and the step was not ended by its timeout.
      assert.equal(r.timedOut, false);
      assert.equal(r.tail.trim(), tail);
    });

  it('masks a secret even when it is split across output chunks', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'l');
    const seen: string[] = [];
    const cmd = `printf 's3cr'; sleep 0.2; printf '3t-value and more\\n'; echo s3cr3t-value`;
    const r = await runner.run({ command: cmd, cwd: dir, env: process.env, timeoutMs: 5000, logFile: log }, (c) => seen.push(c)).result;
    assert.equal(fs.readFileSync(log, 'utf8'), '*** and more\n***\n');
    assert.ok(!seen.join('').includes('s3cr3t'));
    assert.equal(r.tail, '*** and more\n***');
  });

  it('gives a step real pipes: writing to /dev/stdout and /dev/stderr works and is logged', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'l');
    const cmd = `echo to-stdout > /dev/stdout; echo to-stderr > /dev/stderr; echo teed | tee /dev/stderr; printf '%s %s\\n' "$0" "$(readlink /proc/$$/fd/1 | cut -d: -f1)"; exit 7`;
    const r = await runner.run({ command: cmd, cwd: dir, env: process.env, timeoutMs: 10_000, logFile: log }).result;
    const text = fs.readFileSync(log, 'utf8');
    assert.equal(r.exitCode, 7, text);
    for (const line of ['to-stdout', 'to-stderr', 'teed']) assert.match(text, new RegExp(`^${line}$`, 'm'));
    assert.equal(text.match(/^teed$/gm)?.length, 2, 'tee wrote to stdout and to /dev/stderr');
    assert.match(text, /^bash pipe$/m, 'the step sees a pipe, and its $0 is bash as before');
  });

  it('keeps the step shell as the process the runner waits for: its pid, its signal, its startup file once', async () => {
    const dir = tempDir();
    const rc = path.join(dir, 'rc.sh');
    fs.writeFileSync(rc, 'echo sourced >> "$RC_LOG"\n');
    const running = runner.run({
      command: 'echo $$; kill -TERM $$',
      cwd: dir,
      env: { ...process.env, BASH_ENV: rc, RC_LOG: path.join(dir, 'rc.log') },
      timeoutMs: 10_000,
      logFile: path.join(dir, 'l'),
    });
    const r = await running.result;
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(r.tail, String(running.pid), 'the pid the runner knows is the step shell');
    assert.equal(fs.readFileSync(path.join(dir, 'rc.log'), 'utf8'), 'sourced\n', 'BASH_ENV is read by the step shell only');
  });

  // Node gives the step a socket for stdin; bash reads ~/.bashrc when its stdin is a socket and SHLVL
  // is unset (its rshd guess). A VS Code started from a desktop has no SHLVL: a user's .bashrc that
  // waits (a pyenv rehash lock, a prompt) hung the step for ever, and one that prints changed its output.
  for (const [what, env] of [
    ['SHLVL unset', {}],
    ['SHLVL=0', { SHLVL: '0' }],
    ['SHLVL empty', { SHLVL: '' }],
    ['and SSH_CLIENT set', { SSH_CLIENT: '127.0.0.1 5000 22' }],
  ] as const) {
    it(`never reads the user's ~/.bashrc or /etc/bash.bashrc, with ${what}`, async () => {
      const dir = tempDir();
      const home = tempDir('rp-home-');
      fs.writeFileSync(
        path.join(home, '.bashrc'),
        `echo sourced >> ${path.join(dir, 'rc.log')}
sleep 30
`,
      );
      const r = await runner.run({
        command: 'echo step ran',
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: home, ...env },
        timeoutMs: 20_000,
        logFile: path.join(dir, 'l'),
      }).result;
      assert.equal(r.exitCode, 0, r.tail);
      assert.equal(r.tail, 'step ran');
      assert.ok(!fs.existsSync(path.join(dir, 'rc.log')), '~/.bashrc was read');
      assert.equal(r.timedOut, false, "the ~/.bashrc's sleep 30 ran");
    });
  }

  it("keeps a step's command, and the secret it carries, out of every process's command line", async () => {
    const dir = tempDir();
    const secret = `tok-${process.pid}-${Date.now()}-zq`;
    const running = runner.run({
      command: `sleep 1.5; echo "used ${secret}" > used.txt; sleep 0.2 # ${secret}`,
      cwd: dir,
      env: process.env,
      timeoutMs: 20_000,
      logFile: path.join(dir, 'l'),
    });
    const seen: string[] = [];
    const scan = () => {
      for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        try {
          const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          if (argv.includes(secret)) seen.push(`${pid}: ${argv.replace(/\0/g, ' ')}`);
        } catch {
          // gone
        }
      }
    };
    while (!fs.existsSync(path.join(dir, 'used.txt'))) {
      scan();
      await new Promise((r) => setTimeout(r, 100));
    }
    scan();
    const r = await running.result;
    assert.equal(r.exitCode, 0, r.tail);
    assert.equal(fs.readFileSync(path.join(dir, 'used.txt'), 'utf8'), `used ${secret}\n`, 'the command ran with its text');
    assert.deepEqual(seen, [], 'a command line showed the secret');
  });

  // Commands meant to trip the way the command reaches the step's shell (a descriptor, then eval):
  // each must print and exit exactly as `bash -c COMMAND` does (bash names itself `-c` or `eval` in an error).
  const SAME_AS_BASH_C: Array<[string, string, { code: number; out: string }?]> = [
    ['single and double quotes', `echo 'it''s' "a \\"b\\"" '$HOME'`],
    ['backslashes and an ANSI-C string', `printf '%s|' a\\b $'tab\there' "c\\d"; echo`],
    ['lines and a here-document', 'cat <<EOF\nline one\n  $((6*7))\nEOF\necho after'],
    ['trailing newlines and spaces', 'echo kept   \n\n\n   '],
    ['an exit code', 'echo before; exit 7; echo never'],
    ['a syntax error', 'echo ok; if then fi'],
    ['an unclosed quote', `echo "unclosed`],
    ['the descriptor the command came on', 'echo x >&3; echo "status $?"'],
    ['$0 and arguments', 'echo "$0 $# [$1]"'],
    ['unicode and control bytes', `echo 'ünïcødé ✓'; printf '\\x01\\x7f' | od -An -c`],
    ['set -e and a trap on exit', "set -e; trap 'echo trapped' EXIT; false; echo never"],
    // bash -c cannot take these two: an argument is at most 128 KiB, and a leading dash reads as its option.
    ['a long command (200 KB)', `x='${'y'.repeat(200_000)}'; echo \${#x}`, { code: 0, out: '200000\n' }],
    ['a leading dash', '-n 2>/dev/null; echo "dash $?"', { code: 0, out: 'dash 127\n' }],
    ['an empty command', ''],
  ];
  const bashNamed = (t: string) => t.replace(/^bash: (?:eval|-c): /gm, 'bash: ');
  for (const [what, command, expected] of SAME_AS_BASH_C) {
    it(`runs a command as bash -c does: ${what}`, async () => {
      const dir = tempDir();
      const env = { PATH: process.env.PATH, HOME: dir, LC_ALL: 'C.UTF-8' };
      const ref = expected
        ? { status: expected.code, stdout: expected.out }
        : spawnSync('bash', ['--norc', '-c', 'exec bash --norc -c "$1" bash 2>&1', '_', command], {
            cwd: dir,
            env,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          });
      const r = await runner.run({ command, cwd: dir, env, timeoutMs: 20_000, logFile: path.join(dir, 'l') }).result;
      assert.equal(r.exitCode, ref.status, `exit code; bash -c said ${ref.stdout}`);
      assert.equal(bashNamed(fs.readFileSync(path.join(dir, 'l'), 'utf8')), bashNamed(ref.stdout));
    });
  }

  it('strips terminal control sequences from text shown outside a terminal', () => {
    assert.equal(plainText('\x1b[31mred\x1b[0m \x1b]0;title\x07ok\x07'), 'red ok');
  });
});
