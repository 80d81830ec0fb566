import type { DefinitionNode, DocumentNode } from 'graphql';

/**
 * @apollo/gateway 2.14.4 caches each operation's query plan, but `executeQueryPlan`
 * still rebuilds the operation in @apollo/federation-internals' own representation
 * (`operationFromDocument(apiSchema, { definitions: [operation, ...fragments] }, { validate: false })`)
 * on every request, to shape the result. For an operation it has seen, that is the same
 * work on the same input each time: in bench scenario (A) memoising it cut the gateway's
 * CPU per request by about 3% (`perf record` put @apollo/federation-internals at 8% of the
 * gateway thread), and the federation repository has no issue or option for it.
 *
 * So that one call is answered from a memo: by API schema, then by the operation's
 * definition node, provided the fragment definitions are the very same nodes.
 * Apollo Server keeps one parsed document per query text, and the audit rewrite one
 * rewritten document per document (audit-identifiers.ts), so a repeated operation brings
 * the same nodes; a new document simply misses. Both maps are weak: a schema replaced by a
 * supergraph update, or a document evicted from Apollo Server's cache, takes its entries
 * with it. The operation is only read after it is built (result shaping, `@skip`/`@include`
 * conditions), never changed, so sharing it between requests is safe.
 *
 * Any other call (the query planner's, which names the operation and validates) goes to
 * the original. Installed once per process by createGateway; the test checks the
 * execution call still takes this shape, so an upgrade that changes it is noticed.
 */
interface OperationsModule {
  operationFromDocument(schema: object, document: DocumentNode, options?: { operationName?: string; validate?: boolean }): unknown;
}

interface Remembered {
  fragments: readonly DefinitionNode[];
  operation: unknown;
}

const INSTALLED = Symbol.for('proofless.memoisedExecutionOperations');

export function memoiseExecutionOperations(): void {
  // The module object @apollo/federation-internals re-exports through getters: replacing its export reaches every caller.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const operations = require('@apollo/federation-internals/dist/operations') as OperationsModule & { [INSTALLED]?: true };
  if (operations[INSTALLED]) return;
  const build = operations.operationFromDocument;
  const memo = new WeakMap<object, WeakMap<DefinitionNode, Remembered>>();
  operations.operationFromDocument = (schema, document, options) => {
    if (options?.validate !== false || options.operationName !== undefined || document.definitions.length === 0) return build(schema, document, options);
    const [definition, ...fragments] = document.definitions;
    let bySchema = memo.get(schema);
    if (!bySchema) {
      bySchema = new WeakMap();
      memo.set(schema, bySchema);
    }
    const remembered = bySchema.get(definition);
    if (remembered && sameNodes(remembered.fragments, fragments)) return remembered.operation;
    const operation = build(schema, document, options);
    bySchema.set(definition, { fragments, operation });
    return operation;
  };
  operations[INSTALLED] = true;
}

function sameNodes(a: readonly DefinitionNode[], b: readonly DefinitionNode[]): boolean {
  return a.length === b.length && a.every((node, i) => node === b[i]);
}
