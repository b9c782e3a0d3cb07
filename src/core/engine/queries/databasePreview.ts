import type { Plan } from '../../model/schema';
import { databaseStrategyText } from '../../model/dbStrategyText';

/** The database part of a rollback as the dry runs show it: the strategy, then each down and restore command resolved. */
export function databasePreview(plan: Plan, resolve: (text: string) => string): string[] {
  const d = plan.rollback.database;
  if (!d) return [];
  const L = ['', `Then, when the migration started: ${databaseStrategyText(d)}`];
  d?.down?.forEach((s, i) => L.push(`  D${i + 1}. ${resolve(s.name ?? s.run)}: $ ${resolve(s.run)}`));
  d?.restore?.forEach((s, i) => L.push(`  B${i + 1}. ${resolve(s.name ?? s.run)}: $ ${resolve(s.run)}`));
  return L;
}
