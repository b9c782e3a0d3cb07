/**
 * A run id: what `freshRunId` makes (a timestamp, the version with anything but letters, digits, `.`
 * and `-` written `_`, and a count). It starts with a letter or a digit, so `.` and `..` are not ids,
 * and holds no `/`, `\\`, NUL, line break, blank or other script's look-alike: an id is never a path,
 * and `..` inside one is refused too, so that an id is also a valid last part of a git ref name.
 */
const RUN_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const RUN_ID_MAX = 200;

/** Why a text names no run, quoting at most its first characters, or undefined for a run id. */
export function runIdProblem(text: string): string | undefined {
  if (text.length <= RUN_ID_MAX && RUN_ID_RE.test(text) && !text.includes('..') && !/(\.lock|\.)$/.test(text)) return undefined;
  const shown = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
  return `${shown} is not a run id: expected the name of a folder of .release/runs (letters, digits, . _ -, starting with a letter or a digit, without "..", not ending with "." or ".lock", at most ${RUN_ID_MAX} characters), such as the ids \`release-pilot history\` lists`;
}
