import { scanReferences } from './scope';

/**
 * `${env:NAME}` in a command bash runs becomes bash's own expansion of NAME (`"${NAME}"`), never the
 * pasted value: bash then does not parse a secret as shell text, so `$$`, quotes, `$(…)`, backquotes,
 * `;`, `<&>` or a newline in it are data. (Arithmetic and a second shell, `eval` or `bash -c "…"`,
 * still read what they are given as code, as for any variable: the docs say so.) The variable is in every command's environment (the release's, plus the
 * plan's `env` and the step's `env`, which win). Every other reference is still resolved as text.
 */

/** How bash quotes the text at a point of a command. */
export type ShellQuoting = 'plain' | 'double' | 'single' | 'arith';

type Frame = { kind: 'plain' | 'double' | 'sub' | 'tick' | 'arith'; depth: number };
const quotingOf = (f: Frame): ShellQuoting => (f.kind === 'double' ? 'double' : f.kind === 'arith' ? 'arith' : 'plain');

/** Maps whose keys are names the user chose (a variable called `run` is not a command). */
const NAMED_ENTRIES = /(?:^|\.)(?:env|variables|headers|fixed|secrets)\.[^.]+$/;

/** Plan keys whose text bash runs: every `run` and `command`, and the blue-green `active` command. */
export function isShellKey(keyPath: string): boolean {
  const p = keyPath.replace(/\[\d+\]/g, '');
  if (NAMED_ENTRIES.test(p)) return false;
  return /(?:^|\.)(?:run|command)$/.test(p) || /(?:^|\.)blueGreen\.active$/.test(p);
}

const WORD_START = /[\s;&|()<>]/;

/**
 * The quoting at each offset (ascending) of a bash command: single quotes, `$'…'` and the body of a
 * here-document with a quoted delimiter count as single (nothing expands there); double quotes and
 * the body of an unquoted here-document as double; `$(…)` and backquotes start over as plain;
 * `$((…))` and a `((…))` command as arith (bash evaluates what it expands there as an expression).
 */
export function quotingAt(text: string, offsets: readonly number[]): ShellQuoting[] {
  const out: ShellQuoting[] = [];
  let k = 0;
  const mark = (from: number, to: number, q: ShellQuoting) => {
    while (k < offsets.length && offsets[k] < to) {
      if (offsets[k] >= from) out.push(q);
      else out.push('plain');
      k++;
    }
  };
  const stack: Frame[] = [{ kind: 'plain', depth: 0 }];
  const heredocs: { delim: string; quoted: boolean; strip: boolean }[] = [];
  let i = 0;
  while (i < text.length && k < offsets.length) {
    const top = stack[stack.length - 1];
    const c = text[i];
    mark(0, i, quotingOf(top));
    if (offsets[k] === i) {
      out.push(quotingOf(top));
      k++;
      continue;
    }
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (text.startsWith('$((', i) || (top.kind !== 'double' && text.startsWith('((', i) && (i === 0 || WORD_START.test(text[i - 1])))) {
      stack.push({ kind: 'arith', depth: 0 });
      i += c === '$' ? 3 : 2;
      continue;
    }
    if (top.kind === 'arith') {
      if (c === '(') top.depth++;
      else if (c === ')' && top.depth > 0) top.depth--;
      else if (c === ')') {
        stack.pop();
        i++;
      }
      i++;
      continue;
    }
    if (top.kind === 'double') {
      if (c === '"') stack.pop();
      else if (c === '`') stack.push({ kind: 'tick', depth: 0 });
      else if (text.startsWith('$(', i)) {
        stack.push({ kind: 'sub', depth: 0 });
        i++;
      }
      i++;
      continue;
    }
    if (c === "'" || text.startsWith("$'", i)) {
      const open = c === "'" ? i : i + 1;
      let j = open + 1;
      while (j < text.length && text[j] !== "'") j += c === '$' && text[j] === '\\' ? 2 : 1;
      mark(open, j, 'single');
      i = j + 1;
    } else if (c === '"' || c === '`' || text.startsWith('$(', i) || (top.kind === 'sub' && (c === '(' || c === ')'))) {
      i = nest(stack, text, i);
    } else if (c === '#' && (i === 0 || WORD_START.test(text[i - 1]))) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else if (text.startsWith('<<', i) && !text.startsWith('<<<', i)) {
      const m = /^<<(-?)[ \t]*((?:[^\s;&|()<>'"\\]|'[^']*'|"[^"]*"|\\.)+)/.exec(text.slice(i));
      if (m) heredocs.push({ strip: m[1] === '-', quoted: /['"\\]/.test(m[2]), delim: m[2].replace(/['"\\]/g, '') });
      i += m ? m[0].length : 2;
    } else if (c === '\n' && heredocs.length > 0) {
      let at = i + 1;
      for (const h of heredocs.splice(0)) {
        const bodyStart = at;
        for (;;) {
          const nl = text.indexOf('\n', at);
          const line = text.slice(at, nl < 0 ? text.length : nl);
          const next = nl < 0 ? text.length : nl + 1;
          if ((h.strip ? line.replace(/^\t+/, '') : line) === h.delim || next >= text.length) {
            mark(bodyStart, at, h.quoted ? 'single' : 'double');
            at = next;
            break;
          }
          at = next;
        }
      }
      i = at;
    } else i++;
  }
  mark(0, Number.MAX_SAFE_INTEGER, quotingOf(stack[stack.length - 1]));
  return out;
}

/** `"`, a backquote, `$(`, or `(` and `)` inside `$(…)`, outside double quotes: where the next character is. */
function nest(stack: Frame[], text: string, i: number): number {
  const top = stack[stack.length - 1];
  const c = text[i];
  if (c === '"') stack.push({ kind: 'double', depth: 0 });
  else if (c === '`') {
    if (top.kind === 'tick') stack.pop();
    else stack.push({ kind: 'tick', depth: 0 });
  } else if (c === '$') {
    stack.push({ kind: 'sub', depth: 0 });
    return i + 2;
  } else if (c === '(') top.depth++;
  else if (top.depth === 0) stack.pop();
  else top.depth--;
  return i + 1;
}

/** Why a command's `${env:…}` cannot become bash's expansion (inside single quotes), or undefined. */
export function shellReferenceProblems(command: string): string[] {
  const refs = scanReferences(command).filter((m) => m.ref?.startsWith('env:'));
  const q = quotingAt(
    command,
    refs.map((m) => m.start),
  );
  return refs.flatMap((m, i) =>
    q[i] === 'single'
      ? [
          `"${m.raw}" is inside single quotes (or a quoted here-document), where bash expands nothing. Give the value to the command through the step's env instead (env: { ${m.ref!.slice(4)}: "${m.raw}" }, still masked) and read it there as "$${m.ref!.slice(4)}"; do not move it into text a second shell parses (bash -c "…", eval, ssh), which would read the value as code`,
        ]
      : [],
  );
}

/**
 * How a command gets a reference as data: the name of the variable in its environment that bash
 * expands in its place, or undefined for a reference resolved as text. `${env:NAME}` is always data.
 */
export type DataRefs = (ref: string) => string | undefined;

const ENV_REF = /^env:[A-Za-z_][A-Za-z0-9_]*$/;
const envData: DataRefs = (ref) => (ENV_REF.test(ref) ? ref.slice(4) : undefined);

/** The reserved environment variable a plan variable given at run time (`--var NAME=VALUE`) reaches a command in. */
export function runtimeVarEnvName(name: string): string {
  return `RELEASE_PILOT_VAR_${name}`;
}

/** Why `${var.NAME}` given at run time cannot be bash's expansion at a point of a command, or undefined. */
function runtimeVarProblem(raw: string, name: string, q: ShellQuoting): string | undefined {
  if (q !== 'single' && q !== 'arith') return undefined;
  const where =
    q === 'single'
      ? 'inside single quotes (or a quoted here-document), where bash expands nothing'
      : 'inside arithmetic ($((…)) or ((…))), where bash reads the value as an expression, that is as code';
  return `${name} is given at run time (--var ${name}=…), so it is passed as data, never as shell text: "${raw}" is ${where}. Use "\${var.${name}}" in double quotes (or give it to a step through its env and read it there as "$NAME")`;
}

/** Why a command's `${var.NAME}` cannot be data for the variables given at run time (names): where each is, and why. */
export function runtimeVarProblems(command: string, names: readonly string[]): { start: number; message: string }[] {
  const refs = scanReferences(command).filter((m) => m.ref?.startsWith('var.') && names.includes(m.ref.slice(4)));
  const q = quotingAt(
    command,
    refs.map((m) => m.start),
  );
  return refs.flatMap((m, i) => {
    const message = runtimeVarProblem(m.raw, m.ref!.slice(4), q[i]);
    return message ? [{ start: m.start, message }] : [];
  });
}

/**
 * The command with each data reference (see DataRefs) written as bash's expansion of its variable:
 * `"${NAME}"` where the text is unquoted (one word, no glob), `${NAME}` inside double quotes or an
 * unquoted here-document. One inside single quotes is refused (validation names it; here it throws),
 * as is a run-time variable in arithmetic.
 */
export function shellForm(command: string, data: DataRefs = envData): string {
  const refs = scanReferences(command).flatMap((m) => {
    const name = m.ref === undefined ? undefined : data(m.ref);
    return name === undefined ? [] : [{ m, name }];
  });
  if (refs.length === 0) return command;
  const q = quotingAt(
    command,
    refs.map((r) => r.m.start),
  );
  let out = '';
  let at = 0;
  refs.forEach(({ m, name }, i) => {
    const refused = m.ref!.startsWith('env:') ? q[i] === 'single' && shellReferenceProblems(command)[0] : runtimeVarProblem(m.raw, m.ref!.slice(4), q[i]);
    if (refused) throw new Error(refused);
    out += command.slice(at, m.start) + (q[i] === 'plain' ? `"\${${name}}"` : `\${${name}}`);
    at = m.end;
  });
  return out + command.slice(at);
}

/** Every command of a parsed plan in its shell form (see shellForm); the rest as it is. */
export function withShellForms<T>(value: T, keyPath = '', data: DataRefs = envData): T {
  if (typeof value === 'string') return (isShellKey(keyPath) ? shellForm(value, data) : value) as T;
  if (Array.isArray(value)) return (value as unknown[]).map((v, i) => withShellForms(v, `${keyPath}[${i}]`, data)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as object).map(([k, v]: [string, unknown]) => [k, withShellForms(v, keyPath ? `${keyPath}.${k}` : k, data)]),
    ) as T;
  }
  return value;
}

/**
 * The plan a run executes when `names` are given at run time: every command reads each of them as
 * bash's expansion of its reserved variable (runtimeVarEnvName), which runtimeVarEnv puts in the
 * command's environment; its value is never pasted into shell text. (`${env:…}` is data already.)
 */
export function withRuntimeVars<T>(plan: T, names: readonly string[]): T {
  if (names.length === 0) return plan;
  return withShellForms(plan, '', (ref) => (ref.startsWith('var.') && names.includes(ref.slice(4)) ? runtimeVarEnvName(ref.slice(4)) : undefined));
}

/** The environment that carries the variables given at run time to every command (a NUL, which no environment holds, is refused). */
export function runtimeVarEnv(vars: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(vars ?? {})) {
    if (value.includes('\0'))
      throw new Error(`${name} is given at run time with a NUL character, which no command's environment can carry: give a value without it`);
    out[runtimeVarEnvName(name)] = value;
  }
  return out;
}
