import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { composeSupergraph, SUPERGRAPH_FILE, type CompositionResult } from '../lib/composition';

/** `npm run compose`: departments' SDL in, `schema/supergraph.graphql` out, or a readable list of conflicts. */
let result: CompositionResult;
try {
  result = composeSupergraph();
} catch (error) {
  // An unreadable schema/departments.json: its message, not a stack.
  console.error(`compose: ${(error as Error).message}`);
  process.exit(1);
}
if (!result.ok) {
  console.error('Composition failed; schema/supergraph.graphql is unchanged.');
  for (const line of result.errors) console.error(`  ${line}`);
  process.exit(1);
}
writeFileSync(SUPERGRAPH_FILE, result.supergraphSdl);
console.log(`Composed ${path.relative(process.cwd(), SUPERGRAPH_FILE)}`);
