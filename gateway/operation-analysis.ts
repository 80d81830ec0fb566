import {
  getNamedType,
  isCompositeType,
  Kind,
  type DocumentNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { memoisedIn } from '../lib/memoised';
import { fragmentsOf, isExcludedByLiteral } from '../lib/selections';

/**
 * What one operation can ask for, computed from its document alone: the field
 * coordinates it selects (`Citizen.household`), through fragments, inline fragments and
 * aliases, and the measures the operation limits are set on.
 *
 * A field under `@skip` / `@include` counts unless the condition is a literal that
 * removes it: the checks are on what an operation can ask for, whatever its variables,
 * so the answer depends on the document only and is computed once per document.
 */
export interface OperationAnalysis {
  /** `Type.field` for every field selected, introspection included (`Query.__schema`); `__typename` excluded. */
  coordinates: Set<string>;
  /** The deepest nesting of fields: `{ citizen { identity { name } } }` is 3. */
  depth: number;
  /** Fields selected under an alias. */
  aliases: number;
  /** Fields selected directly on the root type, counted through fragments. */
  rootFields: number;
  /** Every field selection in the operation once fragments are expanded, `__typename` included. */
  fields: number;
}

const WALK_CAP = 100_000;

/** Whether a coordinate is schema introspection (`Query.__schema`, `__Type.name`) rather than data. */
export function isIntrospectionCoordinate(coordinate: string): boolean {
  return coordinate.startsWith('__') || coordinate.includes('.__');
}

const cache = new WeakMap<DocumentNode, Map<string, OperationAnalysis>>();

/** The analysis of the named (or only) operation, cached on the parsed document Apollo Server reuses across requests. */
export function analyseOperation(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): OperationAnalysis {
  const byOperation = memoisedIn(cache, document, () => new Map<string, OperationAnalysis>());
  return memoisedIn(byOperation, operation.name?.value ?? '', () => analyse(schema, document, operation));
}

function analyse(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): OperationAnalysis {
  const fragments = fragmentsOf(document);
  const rootType = schema.getRootType(operation.operation);
  const analysis: OperationAnalysis = { coordinates: new Set(), depth: 0, aliases: 0, rootFields: 0, fields: 0 };
  if (!rootType) return analysis;

  // Fragments are expanded where they are spread, so a fragment used twice counts twice.
  // Fragments spreading fragments can multiply a small document into millions of fields;
  // the walk stops past WALK_CAP fields, which is over any sane field limit anyway.
  const visit = (selectionSet: SelectionSetNode, parentType: GraphQLCompositeType, depth: number, spreadPath: string[]) => {
    for (const selection of selectionSet.selections) {
      if (analysis.fields > WALK_CAP) return;
      if (isExcludedByLiteral(selection.directives)) continue;
      if (selection.kind === Kind.FIELD) {
        analysis.fields += 1;
        if (depth === 1) analysis.rootFields += 1;
        if (selection.alias) analysis.aliases += 1;
        analysis.depth = Math.max(analysis.depth, depth);
        const name = selection.name.value;
        if (name === '__typename') continue;
        analysis.coordinates.add(`${parentType.name}.${name}`);
        const fieldType = 'getFields' in parentType ? parentType.getFields()[name]?.type : undefined;
        const named = fieldType ? getNamedType(fieldType) : undefined;
        if (selection.selectionSet && named && isCompositeType(named)) visit(selection.selectionSet, named, depth + 1, spreadPath);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType;
        visit(selection.selectionSet, condition && isCompositeType(condition) ? condition : parentType, depth, spreadPath);
      } else {
        const fragment = fragments.get(selection.name.value);
        // A fragment that spreads itself is refused by validation; the guard keeps this walk finite regardless.
        if (!fragment || spreadPath.includes(fragment.name.value)) continue;
        const condition = schema.getType(fragment.typeCondition.name.value);
        visit(fragment.selectionSet, condition && isCompositeType(condition) ? condition : parentType, depth, [...spreadPath, fragment.name.value]);
      }
    }
  };
  visit(operation.selectionSet, rootType, 1, []);
  return analysis;
}
