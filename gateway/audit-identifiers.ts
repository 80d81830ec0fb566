import {
  getNamedType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

/**
 * The audit record names every citizen whose data came back, household members included,
 * whether or not the caller selected their ID number. So before planning, every selection
 * on `Citizen` also asks for `idNumber` under an alias no caller can have chosen, and
 * before the response leaves, those values are collected and removed: the caller gets
 * exactly what it asked for, the auditor gets everyone it saw.
 */
export const AUDIT_ID_ALIAS = 'proofless_audit_idNumber';

const AUDIT_ID_FIELD: FieldNode = {
  kind: Kind.FIELD,
  alias: { kind: Kind.NAME, value: AUDIT_ID_ALIAS },
  name: { kind: Kind.NAME, value: 'idNumber' },
};

const rewritten = new WeakMap<DocumentNode, DocumentNode>();

/** The document with `idNumber` added to every Citizen selection; computed once per parsed document. */
export function withAuditIdentifiers(schema: GraphQLSchema, document: DocumentNode): DocumentNode {
  let result = rewritten.get(document);
  if (!result) {
    const typeInfo = new TypeInfo(schema);
    result = visit(
      document,
      visitWithTypeInfo(typeInfo, {
        SelectionSet: {
          leave(node: SelectionSetNode): SelectionSetNode | undefined {
            const parent = typeInfo.getParentType();
            if (!parent || getNamedType(parent).name !== 'Citizen') return undefined;
            return { ...node, selections: [...node.selections, AUDIT_ID_FIELD] };
          },
        },
      }),
    );
    rewritten.set(document, result);
  }
  return result;
}

/** Removes the audit aliases from a response's data, in place, and returns the ID numbers they held. */
export function takeAuditIdentifiers(data: unknown): string[] {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
    } else if (value !== null && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      if (AUDIT_ID_ALIAS in object) {
        if (typeof object[AUDIT_ID_ALIAS] === 'string') found.add(object[AUDIT_ID_ALIAS] as string);
        delete object[AUDIT_ID_ALIAS];
      }
      // for...in, not Object.values: no array per object, and a 100-citizen answer has thousands of objects.
      for (const field in object) walk(object[field]);
    }
  };
  walk(data);
  return [...found];
}
