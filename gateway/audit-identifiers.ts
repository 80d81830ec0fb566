import {
  getNamedType,
  Kind,
  TypeInfo,
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
import { fragmentsOf } from './operation-analysis';

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
  return memoisedIn(rewritten, document, () => {
    const typeInfo = new TypeInfo(schema);
    return visit(
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
      if (at.holdsAlias && AUDIT_ID_ALIAS in object) {
        if (typeof object[AUDIT_ID_ALIAS] === 'string') found.add(object[AUDIT_ID_ALIAS] as string);
        delete object[AUDIT_ID_ALIAS];
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
        if (selection.alias?.value === AUDIT_ID_ALIAS) holdsAlias = true;
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
