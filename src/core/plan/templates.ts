import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The plan templates of "Deploy: Create Release Plan" and `release-pilot init`, by name. The build
 * copies each to `dist/templates/<name>.yaml` (esbuild.mjs); a test loads every one with the real loader.
 */
export const PLAN_TEMPLATES = {
  'nginx-postgres': 'A service behind nginx, blue-green, PostgreSQL: psql migrations undone by their .down.sql, pg_dump restore as the last resort',
  'apache-mariadb': 'A Node service behind Apache httpd, blue-green, MariaDB: knex migrations, knex migrate:rollback, mariadb-dump last resort',
  systemd: 'A systemd service on one host: a release folder per version, restart, health and active-state checks',
  fleet: 'A fleet behind HAProxy: a rolling deploy with Ansible over SSH, Prometheus guards (examples/fleet)',
  local: 'A local service: blue-green behind a router, SQLite backup, metrics scraped (the demo)',
  kubernetes: 'Kubernetes: kubectl set image, rollout status, rollout undo',
  helm: 'Helm: upgrade --atomic, rollback',
} as const;
export type PlanTemplate = keyof typeof PLAN_TEMPLATES;

/**
 * The templates that are an example's plan as it stands (esbuild.mjs copies them from examples/),
 * not a form with a FILL IN block: the example they come from, and the files of it their steps run,
 * which `init` does not write.
 */
export const EXAMPLE_TEMPLATES: Partial<Record<PlanTemplate, { example: string; needs: string[]; how: string }>> = {
  local: {
    example: 'examples/demo',
    needs: ['tools/instance.sh', 'tools/migrate.sh', 'tools/smoke.js', 'service/server.js', 'config/production.env', 'db/migrations/*.sql', 'qa/acceptance.md'],
    how: 'Copy them from examples/demo (it runs with them as they are), or replace the steps with your own',
  },
  fleet: {
    example: 'examples/fleet',
    needs: ['ansible/deploy.yml', 'ansible/rollback.yml', 'service/server.js', 'qa/acceptance.md'],
    how: 'Copy them from examples/fleet, or replace the steps with your own',
  },
  kubernetes: {
    example: 'examples/kubernetes',
    needs: ['k8s/*.yaml', 'migrations/*.sql', 'scripts/smoke.sh'],
    how: 'Write them for your service (examples/kubernetes/k8s has manifests to start from), or replace the steps with your own',
  },
  helm: { example: 'examples/helm', needs: ['chart/', 'scripts/snapshot-db.sh'], how: 'Write them for your service, or replace the steps with your own' },
};

/** What `init` says to do next: fill in the FILL IN block, or, for an example's plan, what it needs. */
export function templateNextStep(name: PlanTemplate): string {
  const ex = EXAMPLE_TEMPLATES[name];
  if (!ex) return 'Next: fill in the values between the FILL IN lines at the top, then run: release-pilot validate';
  return (
    `This is the plan of ${ex.example} as it stands (its name, version and commands), not a form to fill in: ` +
    `its steps use files that init does not write: ${ex.needs.join(', ')}. ` +
    `${ex.how}; set release.name and release.version; then run: release-pilot validate`
  );
}

export function isPlanTemplate(name: string): name is PlanTemplate {
  return Object.hasOwn(PLAN_TEMPLATES, name);
}

/** The templates, one a line, for a help text or a refusal. */
export function templateList(): string {
  const width = Math.max(...Object.keys(PLAN_TEMPLATES).map((n) => n.length));
  return Object.entries(PLAN_TEMPLATES)
    .map(([n, d]) => `  ${n.padEnd(width)}  ${d}`)
    .join('\n');
}

/** Whether anything is at `file`: a file, a folder, or a symbolic link (one that points nowhere too). */
export function pathTaken(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a template as a regular, writable file at `target`. A symbolic link there is replaced, never
 * written through: a cloned repository may ship `.release/plan.yaml` pointing anywhere.
 */
export function writeTemplate(source: string, target: string): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (pathTaken(target) && fs.lstatSync(target).isSymbolicLink()) fs.unlinkSync(target);
  fs.writeFileSync(target, fs.readFileSync(source), { mode: 0o644, flag: 'w' });
}
