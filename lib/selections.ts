import { Kind, type DirectiveNode, type DocumentNode, type FragmentDefinitionNode } from 'graphql';

/**
 * What walking an operation's selections needs, shared by the gateway's operation analysis
 * (gateway/operation-analysis.ts) and each department's purpose check
 * (subgraphs/shared/purpose-guard.ts), so both count the same fields.
 */

/** The document's fragment definitions by name. */
export function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

/**
 * Whether a selection is removed whatever the variables: `@skip(if: true)` or
 * `@include(if: false)` with a literal. A condition given by a variable does not remove it:
 * checks are on what an operation can ask for.
 */
export function isExcludedByLiteral(directives: readonly DirectiveNode[] | undefined): boolean {
  for (const directive of directives ?? []) {
    const condition = directive.arguments?.find((argument) => argument.name.value === 'if')?.value;
    if (condition?.kind !== Kind.BOOLEAN) continue;
    if (directive.name.value === 'skip' && condition.value === true) return true;
    if (directive.name.value === 'include' && condition.value === false) return true;
  }
  return false;
}
