import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  getNamedType,
  getOperationAST,
  getVariableValues,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  parse,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { CALLER_HEADER, decodeAssertedCaller, type AssertedCaller } from '../../lib/asserted-caller';
import type { ProofCatalog } from '../../lib/catalog';
import { checkArgumentsProblem } from '../../lib/check-arguments';
import { beforeExecution, forbidden, unauthenticated } from '../../lib/error-codes';
import { fieldsWithArguments } from '../../lib/field-arguments';
import { memoisedIn } from '../../lib/memoised';
import { fragmentsOf, isExcludedByLiteral } from '../../lib/selections';

export interface DepartmentPurposeOptions {
  /** This department's name, as the gateway names it in `X-Proofless-Department` ('household', 'audit', ...). */
  department: string;
  /** The proof catalog (lib/catalog.ts loadCatalog): which fields each service item's proofs need. */
  catalog: ProofCatalog;
}

/** Why a department refuses a request, before running it. */
export interface DepartmentRefusal {
  code: 'FORBIDDEN' | 'UNAUTHENTICATED';
  message: string;
  /** The coordinates outside the service item's catalog entry, sorted. */
  notAllowed?: string[];
}

/** A request as the department's plugin sees it once Apollo Server has parsed and validated it. */
export interface DepartmentRequest {
  /** The department's subgraph schema, `_entities` and `_service` included. */
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown>;
  headers: { get(name: string): string | undefined | null };
}

/** The gateway's formats for the purpose headers (gateway/plugins/purpose.ts): a department accepts no other. */
const SERVICE_ITEM = /^[0-9A-Z][0-9A-Z-]{2,39}$/;
const CASE_NUMBER = /^[0-9A-Za-z][0-9A-Za-z-]{3,63}$/;

/** The department whose every field is audit data, for role auditor alone. */
const AUDIT_DEPARTMENT = 'audit';
/** What role auditor reads outside the audit department, as through the gateway (gateway/gateway.ts auditorFields): breached commitments. */
const AUDITOR_READS_FIELDS = new Set(['Query.breachedCommitments']);
const AUDITOR_READS_TYPES = new Set(['CommitmentPage', 'Commitment']);

/** The query planner's entry to a department's entities: what it reads is under `... on Type`. */
const ENTITIES = 'Query._entities';
/** The subgraph's SDL for composition: composition reads the committed schema, so no one needs it at run time. */
const SERVICE_SDL = 'Query._service';

/**
 * Departments trust no one (issue 17): a department enforces the purpose of its own data,
 * so that a compromised or misconfigured gateway reads no more through it than the proof
 * catalog allows. Every request reaching a department is signed by the gateway, and the
 * signature (checked at the HTTP layer before GraphQL runs) covers the purpose headers
 * and `X-Proofless-Caller`, the caller the gateway verified from its token. This plugin
 * makes, from those headers and the subgraph operation alone, the gateway's decision
 * again: the same roles, the same catalog, the same check arguments, the same scopes, the
 * same messages. Decided before execution, a refusal reveals nothing about any citizen.
 */
export function departmentPurposePlugin(options: DepartmentPurposeOptions): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operationName, request }) {
          const refusal = departmentPurposeRefusal(options, { schema, document, operationName, variables: request.variables, headers: request.http?.headers ?? NO_HEADERS });
          if (!refusal) return;
          const error = refusal.code === 'UNAUTHENTICATED' ? unauthenticated(refusal.message) : forbidden(refusal.message, refusal.notAllowed ? { notAllowed: refusal.notAllowed } : {});
          throw beforeExecution(error);
        },
      };
    },
  };
}

const NO_HEADERS = { get: () => undefined };

/** The plugin's decision as a pure function: undefined when the request may run, else why not. */
export function departmentPurposeRefusal(options: DepartmentPurposeOptions, request: DepartmentRequest): DepartmentRefusal | undefined {
  const operation = getOperationAST(request.document, request.operationName ?? undefined);
  if (!operation) return refused('the request must hold exactly the operation to run');
  // Validation refuses an operation type the schema lacks; the check does not rely on it.
  if (!request.schema.getRootType(operation.operation)) return refused(`this department answers no ${operation.operation}`);
  const coordinates = selectedCoordinates(request.schema, request.document, operation);
  if (coordinates.some(isIntrospectionCoordinate)) {
    return refused('a department answers no introspection (__schema, __type): the gateway plans from the committed supergraph');
  }
  if (coordinates.includes(SERVICE_SDL)) return refused('a department does not serve Query._service at run time: the supergraph is composed from the committed schemas');
  // `{ __typename }`: the gateway's readiness probe. It reads nothing, so it needs no caller.
  // `_entities { __typename }` is not one: its reference resolvers read the registry (a
  // Business that is not registered resolves to null), so it needs a caller and a purpose.
  if (coordinates.length === 0) return undefined;
  const dataCoordinates = coordinates.filter((coordinate) => coordinate !== ENTITIES);

  const { headers } = request;
  if (headers.get('x-proofless-department') !== options.department) {
    return refused(`X-Proofless-Department must name this department, ${options.department}: the gateway signed this request for another`);
  }
  const asserted = decodeAssertedCaller(headers.get(CALLER_HEADER) ?? undefined);
  if ('problem' in asserted) return { code: 'UNAUTHENTICATED', message: asserted.problem };
  const { caller } = asserted;
  const subgraph = subgraphFacts(request.schema);

  if (options.department === AUDIT_DEPARTMENT) {
    if (caller.role !== 'auditor') return refused('only role auditor reads the audit department');
  } else if (caller.role === 'auditor') {
    // Key fields get no pass here: an auditor joins no entities, and `_entities` would tell them who is on the register.
    if (!coordinates.every(isWhatAuditorsRead)) return refused('role auditor reads audit records, never citizen data');
  } else {
    if (caller.role !== 'service') return refused('only role service may read citizen data');
    // The fields the query planner adds to join entities are the keys, which every purpose may read.
    const refusal = servicePurposeRefusal(options, request, operation, caller, dataCoordinates.filter((coordinate) => !subgraph.keyFields.has(coordinate)));
    if (refusal) return refusal;
  }
  return scopesRefusal(subgraph.scopeGroups, dataCoordinates, caller.scopes);
}

/**
 * A service caller's purpose, as the gateway checks it (gateway/plugins/purpose.ts): a
 * well-formed item the caller is granted, a case, only the item's fields (`coordinates`:
 * the operation's, keys aside) and its checks only with the catalog's arguments.
 */
function servicePurposeRefusal(
  options: DepartmentPurposeOptions,
  request: DepartmentRequest,
  operation: OperationDefinitionNode,
  caller: AssertedCaller,
  coordinates: string[],
): DepartmentRefusal | undefined {
  const { headers } = request;
  const serviceItem = headers.get('x-service-item');
  const caseNumber = headers.get('x-case-number');
  if (!serviceItem) return refused('X-Service-Item header is required: the code of the service item (事项) this request serves');
  if (!SERVICE_ITEM.test(serviceItem)) return refused('X-Service-Item must be a service item code of 3-40 capital letters, digits and hyphens, like 330100-JY-0001');
  if (!caseNumber) return refused('X-Case-Number header is required: the case (application) number this request serves');
  if (!CASE_NUMBER.test(caseNumber)) return refused('X-Case-Number must be 4-64 letters, digits and hyphens');
  if (!options.catalog.items.has(serviceItem)) return refused(`service item ${serviceItem} is not in the proof catalog`);
  if (!caller.serviceItems.includes(serviceItem)) return refused(`application ${caller.application} is not granted service item ${serviceItem}`);
  const notAllowed = coordinates.filter((coordinate) => !options.catalog.allows(serviceItem, coordinate)).sort();
  if (notAllowed.length > 0) {
    return { code: 'FORBIDDEN', message: `service item ${serviceItem} does not need ${notAllowed.join(', ')}: ask only for the fields its proofs need`, notAllowed };
  }
  // Variables that do not fit their definitions are refused by execution anyway; here they
  // count as none, so a check argument they would give is missing and the check refused.
  const coerced = getVariableValues(request.schema, operation.variableDefinitions ?? [], request.variables ?? {}, { maxErrors: 1 });
  const wrongChecks = checkArgumentsProblem(serviceItem, options.catalog.checksOf(serviceItem), fieldsWithArguments(request.schema, request.document, operation), coerced.coerced ?? {});
  if (wrongChecks) return refused(wrongChecks);
  return undefined;
}

function refused(message: string): DepartmentRefusal {
  return { code: 'FORBIDDEN', message };
}

function isWhatAuditorsRead(coordinate: string): boolean {
  return AUDITOR_READS_FIELDS.has(coordinate) || AUDITOR_READS_TYPES.has(coordinate.slice(0, coordinate.indexOf('.')));
}

/** The department's own `@requiresScopes`, as the gateway enforces them (gateway/plugins/scopes.ts): any one group, every scope of it. */
function scopesRefusal(scopeGroups: ReadonlyMap<string, string[][]>, coordinates: string[], scopes: string[]): DepartmentRefusal | undefined {
  for (const coordinate of [...coordinates].sort()) {
    const groups = scopeGroups.get(coordinate);
    if (!groups || groups.some((group) => group.every((scope) => scopes.includes(scope)))) continue;
    return refused(`${coordinate} requires scope ${groups.map((group) => group.join(' and ')).join(' or ')}`);
  }
  return undefined;
}

function isIntrospectionCoordinate(coordinate: string): boolean {
  return coordinate.startsWith('__') || coordinate.includes('.__');
}

/** What the department's subgraph SDL says about access, read once per schema. */
interface SubgraphFacts {
  /** `Type.field` for every field named in an entity's `@key(fields:)`: what the query planner adds to join. */
  keyFields: Set<string>;
  /** `@requiresScopes` by coordinate, a type's groups combined with its fields' (OR of ANDs). */
  scopeGroups: Map<string, string[][]>;
}

const factsBySchema = new WeakMap<GraphQLSchema, SubgraphFacts>();

function subgraphFacts(schema: GraphQLSchema): SubgraphFacts {
  return memoisedIn(factsBySchema, schema, () => {
    const facts: SubgraphFacts = { keyFields: new Set(), scopeGroups: new Map() };
    const names = federationNames(schema);
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) && !isInterfaceType(type)) continue;
      const typeDirectives = [type.astNode, ...type.extensionASTNodes].flatMap((node) => node?.directives ?? []);
      for (const key of typeDirectives.filter((directive) => directive.name.value === names.key)) {
        const fields = argumentOf(key, 'fields');
        if (fields?.kind === Kind.STRING) addKeyFields(type, fields.value, facts.keyFields);
      }
      const typeScopes = scopeGroupsOf(typeDirectives, names.requiresScopes);
      for (const field of Object.values(type.getFields())) {
        const groups = combineScopeGroups(typeScopes, scopeGroupsOf(field.astNode?.directives ?? [], names.requiresScopes));
        if (groups.length > 0) facts.scopeGroups.set(`${type.name}.${field.name}`, groups);
      }
    }
    return facts;
  });
}

const FEDERATION_SPEC = /^https:\/\/specs\.apollo\.dev\/federation\/v2\./;

/**
 * What the subgraph's SDL calls `@key` and `@requiresScopes`, as its federation `@link`
 * says (https://specs.apollo.dev/link/v1.0): imported (`@key`), renamed on import
 * (`{ name: "@key", as: "@entity" }`), or under the link's prefix (`@federation__key`,
 * `@fed__key` with `as: "fed"`). Read by name alone, a renamed `@requiresScopes` would
 * go unenforced.
 */
function federationNames(schema: GraphQLSchema): { key: string; requiresScopes: string } {
  const link = [schema.astNode, ...schema.extensionASTNodes]
    .flatMap((node) => node?.directives ?? [])
    .find((directive) => directive.name.value === 'link' && isFederationUrl(argumentOf(directive, 'url')));
  // A Federation 1 subgraph has no link: its directives go by their own names.
  if (!link) return { key: 'key', requiresScopes: 'requiresScopes' };
  const prefix = argumentOf(link, 'as');
  const names = { key: `${prefix?.kind === Kind.STRING ? prefix.value : 'federation'}__key`, requiresScopes: `${prefix?.kind === Kind.STRING ? prefix.value : 'federation'}__requiresScopes` };
  const imports = argumentOf(link, 'import');
  for (const imported of imports?.kind === Kind.LIST ? imports.values : []) {
    const name = imported.kind === Kind.STRING ? imported : imported.kind === Kind.OBJECT ? imported.fields.find((field) => field.name.value === 'name')?.value : undefined;
    const as = imported.kind === Kind.OBJECT ? imported.fields.find((field) => field.name.value === 'as')?.value : undefined;
    if (name?.kind !== Kind.STRING) continue;
    const local = (as?.kind === Kind.STRING ? as.value : name.value).replace(/^@/, '');
    if (name.value === '@key') names.key = local;
    if (name.value === '@requiresScopes') names.requiresScopes = local;
  }
  return names;
}

function argumentOf(directive: ConstDirectiveNode, name: string) {
  return directive.arguments?.find((argument) => argument.name.value === name)?.value;
}

function isFederationUrl(url: ReturnType<typeof argumentOf>): boolean {
  return url?.kind === Kind.STRING && FEDERATION_SPEC.test(url.value);
}

/** The coordinates a key's field set names, nested selections (`organisation { id }`) included. */
function addKeyFields(type: GraphQLCompositeType, fieldSet: string, keyFields: Set<string>): void {
  const operation = parse(`{ ${fieldSet} }`).definitions[0] as OperationDefinitionNode;
  const visitKey = (selectionSet: SelectionSetNode, parentType: GraphQLCompositeType) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind !== Kind.FIELD) continue;
      keyFields.add(`${parentType.name}.${selection.name.value}`);
      const fieldType = 'getFields' in parentType ? parentType.getFields()[selection.name.value]?.type : undefined;
      const named = fieldType ? getNamedType(fieldType) : undefined;
      if (selection.selectionSet && named && isCompositeType(named)) visitKey(selection.selectionSet, named);
    }
  };
  visitKey(operation.selectionSet, type);
}

function scopeGroupsOf(directives: readonly ConstDirectiveNode[], requiresScopes: string): string[][] {
  const groups: string[][] = [];
  for (const directive of directives.filter((candidate) => candidate.name.value === requiresScopes)) {
    const scopes = argumentOf(directive, 'scopes');
    if (scopes?.kind !== Kind.LIST) continue;
    for (const group of scopes.values) {
      if (group.kind === Kind.LIST) groups.push(group.values.flatMap((scope) => (scope.kind === Kind.STRING ? [scope.value] : [])));
    }
  }
  return groups;
}

/** A type's scopes and a field's must both be met: every pair of groups combined. */
function combineScopeGroups(a: string[][], b: string[][]): string[][] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return a.flatMap((left) => b.map((right) => [...new Set([...left, ...right])]));
}

const coordinatesByOperation = new WeakMap<OperationDefinitionNode, string[]>();

/**
 * `Type.field` for every field the operation selects, through fragments, inline fragments
 * and aliases, `__typename` excluded; counted as the gateway counts them
 * (gateway/operation-analysis.ts): a field under `@skip` / `@include` counts unless a
 * literal condition removes it, so the answer depends on the document alone. Each
 * fragment is walked once: its type condition, not where it is spread, types its fields.
 */
export function selectedCoordinates(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): string[] {
  return memoisedIn(coordinatesByOperation, operation, () => {
    const fragments = fragmentsOf(document);
    const coordinates = new Set<string>();
    const walked = new Set<string>();
    const walk = (selectionSet: SelectionSetNode, parentType: GraphQLCompositeType) => {
      for (const selection of selectionSet.selections) {
        if (isExcludedByLiteral(selection.directives)) continue;
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          if (name === '__typename') continue;
          coordinates.add(`${parentType.name}.${name}`);
          const fieldType = 'getFields' in parentType ? parentType.getFields()[name]?.type : undefined;
          const named = fieldType ? getNamedType(fieldType) : undefined;
          if (selection.selectionSet && named && isCompositeType(named)) walk(selection.selectionSet, named);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType;
          walk(selection.selectionSet, condition && isCompositeType(condition) ? condition : parentType);
        } else {
          const fragment = fragments.get(selection.name.value);
          if (!fragment || walked.has(fragment.name.value)) continue;
          walked.add(fragment.name.value);
          const condition = schema.getType(fragment.typeCondition.name.value);
          walk(fragment.selectionSet, condition && isCompositeType(condition) ? condition : parentType);
        }
      }
    };
    walk(operation.selectionSet, schema.getRootType(operation.operation) as GraphQLCompositeType);
    return [...coordinates];
  });
}
