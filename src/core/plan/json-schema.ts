import * as z from 'zod/mini';
import { Plan } from '../model/schema';
import { WRITTEN_DEFAULTS } from '../model/schema-parts';

// The plan's JSON Schema, apart from the schema itself: the extension reads the one written at build
// time (dist/plan.schema.json), so zod's JSON Schema writer stays out of what loads at activation.
export function planJsonSchema(): unknown {
  return z.toJSONSchema(Plan, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      if (WRITTEN_DEFAULTS.has(ctx.zodSchema)) ctx.jsonSchema.default = WRITTEN_DEFAULTS.get(ctx.zodSchema);
    },
  });
}
