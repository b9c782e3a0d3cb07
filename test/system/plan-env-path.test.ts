import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { GateError } from '../../src/core/engine/gates/gateError';
import { runIds } from '../../src/core/engine/queries/runs';
import { parsePlan } from '../../src/core/plan/load';
import { smallPlan, workspace } from '../support/fixtures';

/**
 * The PATH rule of the plan's `env` (absolute directories only) holds for the value the steps get,
 * not only for the plan's text: a reference can bring an empty or a relative entry that the text
 * did not show. Each case is refused when the release starts, before its journal exists and before
 * any command runs, naming the plan line of `PATH`; the text of an entry read from `${env:…}` is
 * never printed (it is masked everywhere else).
 */
const BASE_PATH = process.env.PATH!;

interface Case {
  what: string;
  /** The value of `PATH:` in the plan's env, as YAML. */
  path: string;
  /** The plan variable P, as YAML (absent: no variable). */
  p?: string;
  /** `--var P=…` for the run. */
  varP?: string;
  /** The PATH of the process that starts the release. */
  callerPath?: string;
  refused?: RegExp;
}

const CASES: Case[] = [
  { what: 'a variable with a leading colon', path: '"${var.P}"', p: '":/usr/bin:/bin"', refused: /entry 1 of 3 is empty/ },
  { what: 'a variable with a trailing colon', path: '"${var.P}"', p: '"/usr/bin:/bin:"', refused: /entry 3 of 3 is empty/ },
  { what: 'a variable with "::" inside', path: '"${var.P}"', p: '"/usr/bin::/bin"', refused: /entry 2 of 3 is empty/ },
  { what: 'a variable that is "."', path: '"${var.P}:/usr/bin:/bin"', p: '"."', refused: /entry 1 of 3 is relative/ },
  { what: 'a variable that is ./bin', path: '"/usr/bin:/bin:${var.P}"', p: '"./bin"', refused: /entry 3 of 3 is relative/ },
  { what: 'a variable that is ~/bin', path: '"${var.P}:/usr/bin:/bin"', p: '"~/bin"', refused: /entry 1 of 3 is relative \(bash does not expand ~ in PATH\)/ },
  {
    what: 'a variable with a fullwidth colon (U+FF1A) instead of ":"',
    path: '"${var.P}:/bin"',
    p: '"/usr/local/bin\uff1a/usr/bin"',
    refused: /entry 1 of 2 holds a character that looks like ":"/,
  },
  { what: 'a variable with a ratio sign (U+2236) instead of ":"', path: '"${var.P}"', p: '"/usr/bin\u2236/bin"', refused: /looks like ":"/ },
  { what: 'a variable with a newline inside', path: '"${var.P}:/bin"', p: '"/usr/bin\\n/usr/local/bin"', refused: /entry 1 of 2 holds a control character/ },
  { what: 'a variable that resolves to empty', path: '"${var.P}"', p: '""', refused: /it resolves to an empty value/ },
  { what: 'a variable that is only ":"', path: '"${var.P}"', p: '":"', refused: /entry 1 of 2 is empty .*; entry 2 of 2 is empty/ },
  { what: 'a --var override with an empty entry', path: '"${var.P}"', p: '"/usr/bin:/bin"', varP: '/usr/bin::/bin', refused: /entry 2 of 3 is empty/ },
  { what: "the caller's PATH with an empty entry at its end", path: '"/opt/app/bin:${env:PATH}"', callerPath: `${BASE_PATH}:`, refused: /is empty/ },
  {
    what: "the caller's PATH with a relative entry",
    path: '"${env:PATH}"',
    callerPath: `node_modules/.bin:${BASE_PATH}`,
    refused: /entry 1 of \d+ is relative/,
  },
  { what: 'a release name that is a relative folder', path: '"/usr/bin:/bin:${release.name}"', refused: /entry 3 of 3 is relative/ },
  // What must keep working.
  { what: 'a variable with an absolute directory, then the caller PATH', path: '"${var.P}:${env:PATH}"', p: '"/opt/app/bin"' },
  { what: 'a directory with a space and a quote', path: '"${var.P}:${env:PATH}"', p: `"/opt/my app's/bin"` },
];

function planFor(c: Case): string {
  return `${smallPlan(c.p === undefined ? {} : { extra: `variables:\n  P: ${c.p}` })}\nenv:\n  PATH: ${c.path}\n`;
}

describe('plan env: PATH checked once resolved, not only as written', function () {
  this.timeout(120_000);

  for (const c of CASES) {
    it(`${c.refused ? 'refuses' : 'releases with'} ${c.what}`, async () => {
      const text = planFor(c);
      const loaded = parsePlan(text, '/ws/.release/plan.yaml');
      assert.ok(loaded.ok, `the plan's text passes the written rule: ${loaded.ok ? '' : loaded.problems.map((p) => p.message).join('; ')}`);
      const ws = workspace(text);
      const env = { PATH: c.callerPath ?? BASE_PATH, HOME: process.env.HOME };
      const options = ws.options({ env, ...(c.varP ? { vars: { P: c.varP } } : {}) });
      if (!c.refused) {
        const s = await (await Release.start(options)).run();
        assert.equal(s.status, 'released', s.outcomeMessage);
        return;
      }
      const line = text.split('\n').findIndex((l) => l.startsWith('  PATH:')) + 1;
      await assert.rejects(Release.start(options), (e: Error) => {
        assert.ok(e instanceof GateError && e.gate === 'environment', `${e.name}: ${e.message}`);
        assert.match(e.message, c.refused!);
        assert.ok(e.message.includes(`PATH in the plan's env (.release/plan.yaml:${line})`), e.message);
        if (c.callerPath) assert.ok(!e.message.includes(BASE_PATH), 'the PATH read from the environment is not printed');
        return true;
      });
      assert.deepEqual(runIds(ws.dir), [], 'no run was opened');
      assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')), 'no step ran');
    });
  }
});

/** The same rule on the plan's text: what the written check let through before. */
const WRITTEN: Array<{ what: string; path: string }> = [
  { what: 'a newline inside', path: '"/usr/bin\\n/bin"' },
  { what: 'a fullwidth colon', path: '"/usr/bin\uff1a/bin"' },
  { what: 'a tab inside', path: '"/usr/bin\\t:/bin"' },
];

describe('plan env: PATH as written', () => {
  for (const c of WRITTEN)
    it(`refuses ${c.what} at load`, () => {
      const r = parsePlan(`${smallPlan()}\nenv:\n  PATH: ${c.path}\n`, '/ws/.release/plan.yaml');
      assert.ok(!r.ok, 'refused');
      assert.ok(
        r.problems.some((p) => /PATH must list absolute directories/.test(p.message)),
        r.problems.map((p) => p.message).join('; '),
      );
    });
});
