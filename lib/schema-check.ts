import { Supergraph } from '@apollo/federation-internals';
import {
  findBreakingChanges,
  findDangerousChanges,
  Kind,
  parse,
  print,
  type ConstDirectiveNode,
  type GraphQLSchema,
} from 'graphql';
import { composeSupergraph, listDepartments, SCHEMA_DIR } from './composition';

/** One change front-end teams would notice, in graphql-js's words (`Residence.permitNumber was removed.`). */
export interface SchemaChange {
  /** graphql-js's change type (FIELD_REMOVED, VALUE_ADDED_TO_ENUM...), or ACCESS_POLICY_ADDED. */
  type: string;
  description: string;
}

export type SchemaCheck =
  | { outcome: 'unknown-department'; department: string; known: string[] }
  | { outcome: 'does-not-compose'; department: string; errors: string[] }
  | { outcome: 'checked'; department: string; breaking: SchemaChange[]; dangerous: SchemaChange[] };

export interface SchemaCheckOptions {
  /** The folder of departments' SDL and departments.json; the repository's `schema/` by default. */
  schemaDir?: string;
  /** The supergraph the edit is compared with: the committed one. */
  baselineSupergraphSdl: string;
}

/**
 * Composes the department's edited SDL with the other departments' current SDL and
 * compares what callers would see (the API schema: no join directives, no
 * `@inaccessible` fields) with the baseline supergraph's. Breaking changes fail queries
 * front-end teams already send; dangerous ones may change how their code behaves.
 */
export function checkDepartmentSchema(department: string, options: SchemaCheckOptions): SchemaCheck {
  const schemaDir = options.schemaDir ?? SCHEMA_DIR;
  const known = listDepartments(schemaDir).map((entry) => entry.name);
  if (!known.includes(department)) return { outcome: 'unknown-department', department, known };
  const composed = composeSupergraph(schemaDir);
  if (!composed.ok) return { outcome: 'does-not-compose', department, errors: composed.errors };
  const before = apiSchemaOf(options.baselineSupergraphSdl);
  const after = apiSchemaOf(composed.supergraphSdl);
  return {
    outcome: 'checked',
    department,
    breaking: [...findBreakingChanges(before, after), ...accessPoliciesAdded(options.baselineSupergraphSdl, composed.supergraphSdl)],
    dangerous: findDangerousChanges(before, after),
  };
}

/** The schema callers query through the gateway. */
export function apiSchemaOf(supergraphSdl: string): GraphQLSchema {
  // `supportedFeatures: null` skips the check that refuses the SECURITY features
  // (@authenticated, @requiresScopes) @apollo/gateway cannot enforce: this schema is
  // only compared, never served (gateway/supergraph.ts strips them before serving).
  return Supergraph.build(supergraphSdl, { supportedFeatures: null }).apiSchema().toGraphQLJSSchema();
}

const POLICY_DIRECTIVES = new Set(['authenticated', 'requiresScopes']);

/**
 * Types and fields that existed before and now carry an `@authenticated` or
 * `@requiresScopes` they did not: graphql-js sees no change, but the gateway now refuses
 * callers without a token or the scope (403 FORBIDDEN).
 */
function accessPoliciesAdded(beforeSdl: string, afterSdl: string): SchemaChange[] {
  const before = accessPolicies(beforeSdl);
  const changes: SchemaChange[] = [];
  for (const [coordinate, policies] of accessPolicies(afterSdl)) {
    const existing = before.get(coordinate);
    if (!existing) continue;
    for (const policy of policies) {
      if (!existing.has(policy)) {
        changes.push({ type: 'ACCESS_POLICY_ADDED', description: `${coordinate} now requires ${policy}: callers that do not meet it are refused.` });
      }
    }
  }
  return changes;
}

/** Every type and field coordinate of the supergraph, with the access directives on it. */
function accessPolicies(supergraphSdl: string): Map<string, Set<string>> {
  const byCoordinate = new Map<string, Set<string>>();
  const policiesOf = (directives: readonly ConstDirectiveNode[] | undefined) =>
    new Set((directives ?? []).filter((directive) => POLICY_DIRECTIVES.has(directive.name.value)).map((directive) => print(directive)));
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    byCoordinate.set(definition.name.value, policiesOf(definition.directives));
    for (const field of definition.fields ?? []) {
      byCoordinate.set(`${definition.name.value}.${field.name.value}`, policiesOf(field.directives));
    }
  }
  return byCoordinate;
}

/** The check as text for a terminal, and the exit code: 0 when nothing breaks, 1 on breaking changes, 2 when it could not check. */
export function formatSchemaCheck(check: SchemaCheck, baselineLabel: string): { text: string; exitCode: number } {
  const { department } = check;
  if (check.outcome === 'unknown-department') {
    return { text: `schema:check: no department named "${department}"; the departments are ${check.known.join(', ')} (schema/departments.json)`, exitCode: 2 };
  }
  if (check.outcome === 'does-not-compose') {
    const lines = [`schema:check ${department}: the departments' SDL does not compose, so there is no schema to compare:`, ...check.errors.map((error) => `  ${error}`)];
    return { text: lines.join('\n'), exitCode: 2 };
  }
  const lines = [`schema:check ${department}: the departments' SDL as edited, compared with ${baselineLabel}`];
  if (check.breaking.length === 0 && check.dangerous.length === 0) {
    lines.push('No breaking or dangerous changes for front-end teams.');
    return { text: lines.join('\n'), exitCode: 0 };
  }
  if (check.breaking.length > 0) {
    lines.push(`${count(check.breaking.length, 'breaking change')} (operations front-end teams already send will fail):`);
    lines.push(...check.breaking.map((change) => `  ${change.description} [${change.type}]`));
  }
  if (check.dangerous.length > 0) {
    lines.push(`${count(check.dangerous.length, 'dangerous change')} (operations still validate, but front-end code may meet values it does not expect):`);
    lines.push(...check.dangerous.map((change) => `  ${change.description} [${change.type}]`));
  }
  if (check.breaking.length > 0) {
    lines.push('To change without breaking: add the new field beside the old one, mark the old one @deprecated(reason: "use ... instead"), and remove it once front-end teams have moved.');
  }
  return { text: lines.join('\n'), exitCode: check.breaking.length > 0 ? 1 : 0 };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
