import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';

/**
 * The gateway's reserved namespace: aliases and field names that begin with `proofless_`,
 * in any mix of cases. The gateway adds fields under such aliases to what it sends the
 * departments (the audit record's identifiers, audit-identifiers.ts); a caller that could
 * use one could make the record say something other than what was disclosed.
 */
export const RESERVED_PREFIX = 'proofless_';

export function isReservedName(name: string): boolean {
  return name.toLowerCase().startsWith(RESERVED_PREFIX);
}

/**
 * A validation rule (Apollo Server `validationRules`): a document that uses a reserved
 * name as an alias or a field name is invalid, so it is refused with
 * GRAPHQL_VALIDATION_FAILED (HTTP 400) before any check runs or any department is called.
 */
export function reservedNamesRule(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      for (const name of [node.alias?.value, node.name.value]) {
        if (name !== undefined && isReservedName(name)) {
          context.reportError(new GraphQLError(`${name} is a reserved name: aliases and fields beginning with "${RESERVED_PREFIX}" belong to the gateway`, { nodes: node }));
          return;
        }
      }
    },
  };
}
