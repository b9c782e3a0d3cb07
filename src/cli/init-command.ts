import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureToolIgnored } from '../core/git/ignore';
import { PLAN_TEMPLATES, isPlanTemplate, pathTaken, templateList, templateNextStep, writeTemplate } from '../core/plan/templates';
import { EXIT, type CliOptions } from './args';
import type { Io } from './io';

/** Where the built templates are: beside the bundle (dist/cli.js), or in dist/ of the checkout for a test bundle. */
function templateDir(): string {
  const candidates = [path.join(__dirname, 'templates'), path.join(__dirname, '..', '..', 'dist', 'templates')];
  return candidates.find((d) => fs.existsSync(d)) ?? candidates[0];
}

/**
 * `release-pilot init [--template NAME] [--force]`: writes the plan from a template, never over an
 * existing plan without --force, and keeps the tool's own files (.release/runs, the lock) out of git.
 */
export function initCommand(o: CliOptions, io: Io): number {
  const name = o.template;
  if (name === undefined) {
    io.out(`Templates (release-pilot init --template NAME):\n${templateList()}\n`);
    return EXIT.released;
  }
  if (!isPlanTemplate(name)) {
    io.err(`release-pilot: no template named "${name}"; expected one of:\n${templateList()}`);
    return EXIT.usage;
  }
  const planFile = path.resolve(o.plan ?? path.join(o.workspace ?? '.', '.release', 'plan.yaml'));
  const workspace = path.resolve(o.workspace ?? (path.basename(path.dirname(planFile)) === '.release' ? path.dirname(path.dirname(planFile)) : '.'));
  const shown = path.relative(process.cwd(), planFile) || planFile;
  if (pathTaken(planFile) && !o.force) {
    const what = fs.lstatSync(planFile).isSymbolicLink() ? 'exists (a symbolic link)' : 'exists';
    io.err(`release-pilot: ${shown} ${what}; nothing was written. Pass --force to replace it with the ${name} template.`);
    return EXIT.failed;
  }
  try {
    writeTemplate(path.join(templateDir(), `${name}.yaml`), planFile);
  } catch (e) {
    io.err(`release-pilot: could not write ${shown}: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.failed;
  }
  const ignored = ensureToolIgnored(workspace);
  io.out(
    `written: ${shown} (${PLAN_TEMPLATES[name]})\n` + (ignored.length ? `added to .gitignore: ${ignored.join(', ')}\n` : '') + `${templateNextStep(name)}\n`,
  );
  return EXIT.released;
}
