import { readFileSync } from 'node:fs';
import { Supergraph } from '@apollo/federation-internals';
import {
  Kind,
  parse,
  print,
  visit,
  type ConstDirectiveNode,
  type DirectiveNode,
  type GraphQLSchema,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
} from 'graphql';

/** What departments declared on a field with `@authenticated` / `@requiresScopes`. */
export interface FieldPolicy {
  isAuthenticatedRequired: boolean;
  /** Any one of these groups suffices; within a group every scope is needed (OR of ANDs). */
  scopeGroups: string[][];
}

export interface LoadedSupergraph {
  /** The supergraph as @apollo/gateway can load it: the security features removed (see below). */
  gatewaySdl: string;
  /** The schema callers query. */
  apiSchema: GraphQLSchema;
  /** Access policies by field coordinate (`Identity.ethnicity`), from the departments' SDL. */
  policies: Map<string, FieldPolicy>;
  /** Coordinates the `audit` department serves: for role auditor only, and the only ones an auditor may read. */
  auditorCoordinates: Set<string>;
  /** Coordinates one department alone resolves, by department (`service`: `Query.proofChecklist`, `Mutation.recordCommitment`...). */
  soleCoordinates: Map<string, Set<string>>;
}

const SECURITY_DIRECTIVES = new Set(['authenticated', 'requiresScopes']);
const SECURITY_SPECS = /^https:\/\/specs\.apollo\.dev\/(authenticated|requiresScopes)\//;

/**
 * Reads the committed supergraph. Departments mark sensitive fields with the federation
 * directives `@authenticated` and `@requiresScopes`; composition keeps them, linked
 * `for: SECURITY`, but @apollo/gateway refuses any supergraph with a SECURITY feature
 * ("feature https://specs.apollo.dev/authenticated/v0.1 is for: SECURITY but is
 * unsupported"): only Apollo Router enforces them. So Proofless reads the policies here,
 * enforces them itself (plugins/scopes.ts), and hands the gateway the supergraph without
 * those links and directives.
 */
export function loadSupergraph(file: string): LoadedSupergraph {
  const document = parse(readFileSync(file, 'utf8'));
  const policies = new Map<string, FieldPolicy>();
  const soleCoordinates = new Map<string, Set<string>>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    collectPolicies(definition, policies);
    collectSoleCoordinates(definition, soleCoordinates);
  }
  // What the audit department alone serves is audit data.
  const auditorCoordinates = soleCoordinates.get('audit') ?? new Set<string>();
  const stripped = visit(document, {
    Directive: (node) => (SECURITY_DIRECTIVES.has(node.name.value) ? null : undefined),
    DirectiveDefinition: (node) => (SECURITY_DIRECTIVES.has(node.name.value) ? null : undefined),
    ScalarTypeDefinition: (node) => (node.name.value === 'requiresScopes__Scope' ? null : undefined),
    SchemaDefinition: (node) => ({ ...node, directives: node.directives?.filter((directive) => !isSecurityLink(directive)) }),
  });
  const gatewaySdl = print(stripped);
  return { gatewaySdl, apiSchema: Supergraph.build(gatewaySdl).apiSchema().toGraphQLJSSchema(), policies, auditorCoordinates, soleCoordinates };
}

/** The fields one department alone resolves (its field's `join__field`s, else its type's `join__type`s, all name it), by department. */
function collectSoleCoordinates(type: ObjectTypeDefinitionNode | ObjectTypeExtensionNode, byDepartment: Map<string, Set<string>>): void {
  const graphsOf = (directives: readonly ConstDirectiveNode[] | undefined, name: string) =>
    (directives ?? []).filter((directive) => directive.name.value === name).map((directive) => {
      const graph = directive.arguments?.find((argument) => argument.name.value === 'graph')?.value;
      return graph?.kind === Kind.ENUM ? graph.value : undefined;
    });
  const typeGraphs = graphsOf(type.directives, 'join__type');
  for (const field of type.fields ?? []) {
    const fieldGraphs = graphsOf(field.directives, 'join__field');
    const graphs = fieldGraphs.length > 0 ? fieldGraphs : typeGraphs;
    const [graph] = graphs;
    if (graph === undefined || graphs.some((other) => other !== graph)) continue;
    const department = graph.toLowerCase();
    const coordinates = byDepartment.get(department) ?? new Set<string>();
    coordinates.add(`${type.name.value}.${field.name.value}`);
    byDepartment.set(department, coordinates);
  }
}

function collectPolicies(type: ObjectTypeDefinitionNode | ObjectTypeExtensionNode, policies: Map<string, FieldPolicy>): void {
  const typePolicy = policyOf(type.directives ?? []);
  for (const field of type.fields ?? []) {
    const fieldPolicy = policyOf(field.directives ?? []);
    const isAuthenticatedRequired = typePolicy.isAuthenticatedRequired || fieldPolicy.isAuthenticatedRequired;
    // A type's scopes and a field's scopes must both be satisfied: every pair of groups combined.
    const scopeGroups = combineScopeGroups(typePolicy.scopeGroups, fieldPolicy.scopeGroups);
    if (isAuthenticatedRequired || scopeGroups.length > 0) {
      policies.set(`${type.name.value}.${field.name.value}`, { isAuthenticatedRequired, scopeGroups });
    }
  }
}

function policyOf(directives: readonly ConstDirectiveNode[]): FieldPolicy {
  const policy: FieldPolicy = { isAuthenticatedRequired: false, scopeGroups: [] };
  for (const directive of directives) {
    if (directive.name.value === 'authenticated') policy.isAuthenticatedRequired = true;
    if (directive.name.value !== 'requiresScopes') continue;
    const scopes = directive.arguments?.find((argument) => argument.name.value === 'scopes')?.value;
    if (scopes?.kind !== Kind.LIST) continue;
    for (const group of scopes.values) {
      if (group.kind !== Kind.LIST) continue;
      policy.scopeGroups.push(group.values.flatMap((scope) => (scope.kind === Kind.STRING ? [scope.value] : [])));
    }
  }
  return policy;
}

function combineScopeGroups(a: string[][], b: string[][]): string[][] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return a.flatMap((left) => b.map((right) => [...new Set([...left, ...right])]));
}

function isSecurityLink(directive: DirectiveNode): boolean {
  if (directive.name.value !== 'link') return false;
  const url = directive.arguments?.find((argument) => argument.name.value === 'url')?.value;
  return url?.kind === Kind.STRING && SECURITY_SPECS.test(url.value);
}
