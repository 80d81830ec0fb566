import {
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getNullableType,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isCompositeType,
  isListType,
  Kind,
  parse,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { isIdentifierArgument } from '../lib/identifier-arguments';
import { memoisedIn } from '../lib/memoised';
import { fragmentsOf } from '../lib/selections';

/** What a department declares about one list field with `@listSize` (https://specs.apollo.dev/cost/v0.1). */
export interface ListSize {
  /** The size to assume when no slicing argument gives one. */
  assumedSize?: number;
  /** Int arguments whose value is the list's size (`first`); the largest one given counts. */
  slicingArguments: string[];
  /** For a field that returns a page rather than a list: the page's list fields the size is for (`records`). */
  sizedFields: string[];
}

export interface CostModel {
  /** `@listSize` by field coordinate (`Household.members`), as the departments declared it. */
  listSizes: Map<string, ListSize>;
  /** The size assumed for a list field no department bounded; default DEFAULT_LIST_SIZE. */
  defaultListSize: number;
}

/** The size assumed for a list no department bounded with `@listSize`, as Apollo Router's `static_estimated.list_size`. */
export const DEFAULT_LIST_SIZE = 10;

/** Apollo Router's base cost of a mutation; a query costs nothing by itself. */
const MUTATION_COST = 10;

/**
 * The cost model the departments declared in the supergraph: every field's `@listSize`.
 * Composition keeps the directive on the field (the cost spec is linked without a
 * `for:`, so @apollo/gateway loads the supergraph with it), but the API schema callers
 * query drops it, so it is read here from the supergraph's own definitions.
 */
export function costModelOf(supergraphSdl: string, defaultListSize = DEFAULT_LIST_SIZE): CostModel {
  const listSizes = new Map<string, ListSize>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    for (const field of definition.fields ?? []) {
      const directive = field.directives?.find((candidate) => candidate.name.value === 'listSize');
      if (!directive) continue;
      const argument = (name: string) => {
        const value = directive.arguments?.find((candidate) => candidate.name.value === name)?.value;
        return value ? valueFromASTUntyped(value) : undefined;
      };
      const assumedSize = argument('assumedSize');
      listSizes.set(`${definition.name.value}.${field.name.value}`, {
        ...(typeof assumedSize === 'number' ? { assumedSize } : {}),
        slicingArguments: (argument('slicingArguments') as string[] | undefined) ?? [],
        sizedFields: (argument('sizedFields') as string[] | undefined) ?? [],
      });
    }
  }
  return { listSizes, defaultListSize };
}

interface Walk {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  model: CostModel;
  /** Whether the estimate read a variable (a list size, a `@skip` condition): if not, it holds for every request with this document. */
  readsVariables: boolean;
}

/** Estimates that read no variable, by operation, per model: a parsed document is reused for every request with the same text. */
const fixedCosts = new WeakMap<CostModel, WeakMap<OperationDefinitionNode, number>>();

/** Fields by response key (alias or name), as execution merges them, with the type each is a field of. */
type CollectedFields = Map<string, { parentType: GraphQLCompositeType; nodes: FieldNode[] }>;

/**
 * The estimated cost of one operation with its coerced variables, as Apollo Router's
 * demand control estimates it (static_estimated), after the IBM GraphQL Cost Directive
 * specification: every object a field returns costs 1, a scalar or an enum 0, a mutation
 * 10 more; a list field costs its size times the cost of one item and its selection, so
 * nested lists multiply. A list's size is, in this order:
 *
 * - the `first`-style slicing argument its page field declares with
 *   `@listSize(slicingArguments:, sizedFields:)` (`auditRecords(first: 50) { records }`);
 * - for a field that answers one item per identifier it is given
 *   (`citizens(idNumbers:)`), the number given. Apollo Router takes a list slicing
 *   argument's length (apollographql/router#9196), but composition 2.14.4 refuses one
 *   ("Slicing argument \"Query.citizens(idNumbers:)\" must be Int or Int!", thrown as an
 *   internal error; test/cost-limit.test.ts fails once it composes), so this rule is kept
 *   here, by the identifier arguments' names (lib/identifier-arguments.ts), and covers any
 *   department's such field;
 * - the field's own slicing argument, then its `@listSize(assumedSize:)`;
 * - the model's default.
 *
 * Fields are merged by response key as execution merges them (two fragments selecting
 * `household` once cost one household), `@skip` / `@include` are decided with the
 * variables, and introspection costs nothing: the gateway answers it from its own schema
 * and calls no department.
 *
 * An estimate that read no variable is kept for the operation's parsed document, which
 * Apollo Server reuses: bench scenario A's query then costs its walk (about 20 µs) once.
 */
export function estimateCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  model: CostModel,
): number {
  const kept = memoisedIn(fixedCosts, model, () => new WeakMap<OperationDefinitionNode, number>());
  const fixed = kept.get(operation);
  if (fixed !== undefined) return fixed;
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return 0;
  const walk: Walk = { schema, fragments: fragmentsOf(document), variables, model, readsVariables: false };
  const base = operation.operation === 'mutation' ? MUTATION_COST : 0;
  const cost = base + fieldsCost(walk, collectFields(walk, rootType, [operation.selectionSet]), new Map());
  if (!walk.readsVariables) kept.set(operation, cost);
  return cost;
}

/** The cost of each collected field; `sizes` gives the list size of fields a page's `sizedFields` names. */
function fieldsCost(walk: Walk, fields: CollectedFields, sizes: Map<string, number>): number {
  let total = 0;
  for (const { parentType, nodes } of fields.values()) {
    const name = nodes[0].name.value;
    // `__typename` is answered by the gateway, as is introspection (`__schema`, `__type`).
    if (name.startsWith('__') || !('getFields' in parentType)) continue;
    const field = parentType.getFields()[name];
    if (field) total += fieldCost(walk, parentType, field, nodes, sizes.get(name));
  }
  return total;
}

function fieldCost(walk: Walk, parentType: GraphQLCompositeType, field: GraphQLField<unknown, unknown>, nodes: FieldNode[], sizeFromPage: number | undefined): number {
  const declared = walk.model.listSizes.get(`${parentType.name}.${field.name}`);
  const namedType = getNamedType(field.type);
  const hasIdentifierList = field.args.some((argument) => isIdentifierArgument(argument.name) && isListType(getNullableType(argument.type)));
  const readsArguments = declared !== undefined || hasIdentifierList;
  // Coerced as execution will coerce them: defaults included, a single value given for a list argument made a list.
  const args = readsArguments ? getArgumentValues(field, nodes[0], walk.variables) : {};
  if (readsArguments && nodes[0].arguments?.some((argument) => containsVariable(argument.value))) walk.readsVariables = true;
  const sliced = declared ? slicedSize(declared, args) : undefined;

  let itemCost = 0;
  if (isCompositeType(namedType)) {
    const pageSizes = new Map<string, number>();
    for (const sizedField of declared?.sizedFields ?? []) pageSizes.set(sizedField, sliced ?? declared?.assumedSize ?? walk.model.defaultListSize);
    const selectionSets = nodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
    itemCost = 1 + fieldsCost(walk, collectFields(walk, namedType, selectionSets), pageSizes);
  }
  if (!isListType(getNullableType(field.type))) return itemCost;
  const isPage = (declared?.sizedFields.length ?? 0) > 0;
  const size = sizeFromPage ?? identifierListLength(field, args) ?? (isPage ? undefined : sliced ?? declared?.assumedSize) ?? walk.model.defaultListSize;
  return size * itemCost;
}

/** The largest slicing argument given, never below 0; undefined when none is. */
function slicedSize(declared: ListSize, args: Record<string, unknown>): number | undefined {
  const given = declared.slicingArguments.map((name) => args[name]).filter((value): value is number => typeof value === 'number');
  return given.length > 0 ? Math.max(0, ...given) : undefined;
}

/** How many identifiers a field answering one item per identifier was given (`citizens(idNumbers:)`). */
function identifierListLength(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number | undefined {
  for (const argument of field.args) {
    const value = args[argument.name];
    if (isIdentifierArgument(argument.name) && Array.isArray(value)) return value.length;
  }
  return undefined;
}

/**
 * A selection's fields by response key, as graphql-js's `collectFields` merges them:
 * fragments and inline fragments expanded (each named fragment once per selection, as
 * execution does, so spreading a fragment twice costs it once), skipped fields left out.
 */
function collectFields(walk: Walk, type: GraphQLCompositeType, selectionSets: SelectionSetNode[], fields: CollectedFields = new Map(), spread = new Set<string>()): CollectedFields {
  for (const selectionSet of selectionSets) {
    for (const selection of selectionSet.selections) {
      if (!isIncluded(walk, selection)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const entry = fields.get(key);
        if (entry) entry.nodes.push(selection);
        else fields.set(key, { parentType: type, nodes: [selection] });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collectFields(walk, conditionType(walk, selection.typeCondition?.name.value, type), [selection.selectionSet], fields, spread);
      } else {
        const fragment = walk.fragments.get(selection.name.value);
        if (!fragment || spread.has(fragment.name.value)) continue;
        spread.add(fragment.name.value);
        collectFields(walk, conditionType(walk, fragment.typeCondition.name.value, type), [fragment.selectionSet], fields, spread);
      }
    }
  }
  return fields;
}

function conditionType(walk: Walk, name: string | undefined, fallback: GraphQLCompositeType): GraphQLCompositeType {
  const type = name ? walk.schema.getType(name) : undefined;
  return type && isCompositeType(type) ? type : fallback;
}

/** `@skip(if:)` / `@include(if:)` decided with the request's variables, as execution decides them. */
function isIncluded(walk: Walk, selection: SelectionNode): boolean {
  if (!selection.directives?.length) return true;
  if (selection.directives.some((directive) => directive.arguments?.some((argument) => containsVariable(argument.value)))) walk.readsVariables = true;
  if (getDirectiveValues(GraphQLSkipDirective, selection, walk.variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, selection, walk.variables)?.if !== false;
}

function containsVariable(value: ValueNode): boolean {
  if (value.kind === Kind.VARIABLE) return true;
  if (value.kind === Kind.LIST) return value.values.some(containsVariable);
  if (value.kind === Kind.OBJECT) return value.fields.some((field) => containsVariable(field.value));
  return false;
}
