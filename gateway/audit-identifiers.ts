import {
  getNamedType,
  GraphQLError,
  Kind,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { memoisedIn } from '../lib/memoised';
import { fragmentsOf } from '../lib/selections';
import { RESERVED_PREFIX } from './reserved-names';

/**
 * The audit record names every citizen whose data came back, household members included,
 * whether or not the caller selected their ID number. So before planning, every selection
 * on a type that identifies a citizen also asks for the field that does, under an alias in
 * the gateway's reserved namespace, and before the response leaves, those values are
 * collected and removed: the caller gets exactly what it asked for, the auditor gets
 * everyone it saw.
 *
 * The caller cannot touch this: no caller document may use a name in the reserved
 * namespace (reserved-names.ts refuses it at validation), the rewritten document is
 * validated again, and identifiers are read only at the fields this module added, found
 * by the identity of their syntax nodes, never by their alias.
 */
const AUDIT_ALIAS = `${RESERVED_PREFIX}audit_id`;

/**
 * The field that identifies the citizens an object discloses, by the type that has it: a
 * Citizen by its ID number, a commitment by its applicant's, an audit record (read by an
 * auditor) by the ID numbers it lists.
 */
const IDENTIFYING_FIELDS: ReadonlyMap<string, FieldNode> = new Map(
  Object.entries({ Citizen: 'idNumber', Commitment: 'applicant', AuditRecord: 'citizens' }).map(([type, field]) => [
    type,
    { kind: Kind.FIELD, alias: { kind: Kind.NAME, value: AUDIT_ALIAS }, name: { kind: Kind.NAME, value: field } },
  ]),
);

const ADDED_FIELDS = new Set<FieldNode>(IDENTIFYING_FIELDS.values());

/** The rewritten document did not validate: a gateway fault, for which no answer may leave unrecorded. */
export class AuditRewriteError extends Error {}

const rewritten = new WeakMap<DocumentNode, DocumentNode>();

/**
 * The document with the identifying field added to every selection on a type that has
 * one; computed once per parsed document. Throws AuditRewriteError when the result does
 * not validate against `schema`.
 */
export function withAuditIdentifiers(schema: GraphQLSchema, document: DocumentNode): DocumentNode {
  return memoisedIn(rewritten, document, () => {
    const typeInfo = new TypeInfo(schema);
    const result = visit(
      document,
      visitWithTypeInfo(typeInfo, {
        SelectionSet: {
          leave(node: SelectionSetNode): SelectionSetNode | undefined {
            const parent = typeInfo.getParentType();
            const added = parent ? IDENTIFYING_FIELDS.get(getNamedType(parent).name) : undefined;
            return added ? { ...node, selections: [...node.selections, added] } : undefined;
          },
        },
      }),
    );
    const errors: readonly GraphQLError[] = validate(schema, result);
    if (errors.length > 0) throw new AuditRewriteError(`the audit rewrite of a valid document does not validate: ${errors[0].message}`);
    return result;
  });
}

/** Where audit aliases can be in an answer: whether this level's objects hold one, and the response keys below that lead to more. */
interface ResponseShape {
  holdsAlias: boolean;
  children: [responseKey: string, shape: ResponseShape][];
}

const shapes = new WeakMap<OperationDefinitionNode, ResponseShape | null>();

/**
 * Removes the audit aliases from an answer's data, in place, and returns the ID numbers
 * they held. The walk follows the rewritten operation's shape (computed once per
 * document): only the objects on a path to a Citizen selection are visited, never the
 * scalars and the branches without one, which a blind walk of a 100-citizen answer
 * spent most of its time on.
 */
export function takeAuditIdentifiers(data: unknown, document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const shape = memoisedIn(shapes, operation, () => shapeOf([[operation.selectionSet, []]], fragmentsOf(document)));
  const found = new Set<string>();
  const walk = (value: unknown, at: ResponseShape): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, at);
    } else if (value !== null && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      if (at.holdsAlias && AUDIT_ALIAS in object) {
        for (const identifier of [object[AUDIT_ALIAS]].flat()) if (typeof identifier === 'string') found.add(identifier);
        delete object[AUDIT_ALIAS];
      }
      for (const [key, child] of at.children) walk(object[key], child);
    }
  };
  if (shape) walk(data, shape);
  return [...found];
}

/** A selection set, and the fragments spread on the way to it. */
type Reached = [selectionSet: SelectionSetNode, spreadPath: readonly string[]];

/**
 * The shape of the answer to these selection sets (fields of one response key merged, as
 * GraphQL merges them), or null when no audit alias can be under it. Validation has
 * refused fragment cycles before any answer exists; each set's spread path keeps this
 * finite regardless.
 */
function shapeOf(reached: readonly Reached[], fragments: ReadonlyMap<string, FragmentDefinitionNode>): ResponseShape | null {
  let holdsAlias = false;
  const byKey = new Map<string, Reached[]>();
  const collect = (selectionSet: SelectionSetNode, spreadPath: readonly string[]) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (ADDED_FIELDS.has(selection)) holdsAlias = true;
        if (!selection.selectionSet) continue;
        const key = selection.alias?.value ?? selection.name.value;
        const sets = byKey.get(key) ?? [];
        sets.push([selection.selectionSet, spreadPath]);
        byKey.set(key, sets);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collect(selection.selectionSet, spreadPath);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment && !spreadPath.includes(fragment.name.value)) collect(fragment.selectionSet, [...spreadPath, fragment.name.value]);
      }
    }
  };
  for (const [selectionSet, spreadPath] of reached) collect(selectionSet, spreadPath);
  const children: ResponseShape['children'] = [];
  for (const [key, sets] of byKey) {
    const child = shapeOf(sets, fragments);
    if (child) children.push([key, child]);
  }
  return holdsAlias || children.length > 0 ? { holdsAlias, children } : null;
}
