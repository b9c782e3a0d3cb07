import { scanReferences } from './scope';

/**
 * `${env:NAME}` in a command bash runs becomes bash's own expansion of NAME (`"${NAME}"`), never the
 * pasted value: bash then does not parse a secret as shell text, so `$$`, quotes, `$(…)`, backquotes,
 * `;`, `<&>` or a newline in it are data. (Arithmetic and a second shell, `eval` or `bash -c "…"`,
 * still read what they are given as code, as for any variable: the docs say so.) The variable is in every command's environment (the release's, plus the
 * plan's `env` and the step's `env`, which win). Every other reference is still resolved as text.
 */

/** How bash quotes the text at a point of a command. */
export type ShellQuoting = 'plain' | 'double' | 'single';

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
 * the body of an unquoted here-document as double; `$(…)` and backquotes start over as plain.
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
  const stack: { kind: 'plain' | 'double' | 'sub' | 'tick'; depth: number }[] = [{ kind: 'plain', depth: 0 }];
  const heredocs: { delim: string; quoted: boolean; strip: boolean }[] = [];
  let i = 0;
  while (i < text.length && k < offsets.length) {
    const top = stack[stack.length - 1];
    const c = text[i];
    mark(0, i, top.kind === 'double' ? 'double' : 'plain');
    if (offsets[k] === i) {
      out.push(top.kind === 'double' ? 'double' : 'plain');
      k++;
      continue;
    }
    if (c === '\\') {
      i += 2;
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
  mark(0, Number.MAX_SAFE_INTEGER, stack[stack.length - 1].kind === 'double' ? 'double' : 'plain');
  return out;
}

/** `"`, a backquote, `$(`, or `(` and `)` inside `$(…)`, outside double quotes: where the next character is. */
function nest(stack: { kind: 'plain' | 'double' | 'sub' | 'tick'; depth: number }[], text: string, i: number): number {
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
 * The command with each `${env:NAME}` written as bash's expansion of NAME: `"${NAME}"` where the
 * text is unquoted (one word, no glob), `${NAME}` inside double quotes or an unquoted here-document.
 * A reference inside single quotes is refused (validation names it; here it throws).
 */
export function shellForm(command: string): string {
  const refs = scanReferences(command).filter((m) => m.ref?.startsWith('env:') && /^env:[A-Za-z_][A-Za-z0-9_]*$/.test(m.ref));
  if (refs.length === 0) return command;
  const q = quotingAt(
    command,
    refs.map((m) => m.start),
  );
  let out = '';
  let at = 0;
  refs.forEach((m, i) => {
    const name = m.ref!.slice(4);
    if (q[i] === 'single') throw new Error(shellReferenceProblems(command)[0]);
    out += command.slice(at, m.start) + (q[i] === 'plain' ? `"\${${name}}"` : `\${${name}}`);
    at = m.end;
  });
  return out + command.slice(at);
}

/** Every command of a parsed plan in its shell form (see shellForm); the rest as it is. */
export function withShellForms<T>(value: T, keyPath = ''): T {
  if (typeof value === 'string') return (isShellKey(keyPath) ? shellForm(value) : value) as T;
  if (Array.isArray(value)) return (value as unknown[]).map((v, i) => withShellForms(v, `${keyPath}[${i}]`)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as object).map(([k, v]: [string, unknown]) => [k, withShellForms(v, keyPath ? `${keyPath}.${k}` : k)])) as T;
  }
  return value;
}
