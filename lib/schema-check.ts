import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import {
  findBreakingChanges,
  findDangerousChanges,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  print,
  Source,
  type ConstDirectiveNode,
  type DefinitionNode,
  type GraphQLSchema,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
} from 'graphql';
import { composeSupergraph, listDepartments, SCHEMA_DIR } from './composition';

/** One change front-end teams would notice, in graphql-js's words (`Residence.permitNumber was removed.`), or one the departments must not make. */
export interface SchemaChange {
  /** graphql-js's change type (FIELD_REMOVED, VALUE_ADDED_TO_ENUM...), ACCESS_POLICY_ADDED, FIELD_BECAME_NULLABLE, or NON_NULL_ENTITY_FIELD. */
  type: string;
  description: string;
}

export type SchemaCheck =
  | { outcome: 'unknown-department'; department: string; known: string[] }
  | { outcome: 'does-not-compose'; department: string; errors: string[] }
  /** `errors`: what the departments' SDL must not hold whatever it changes (nonNullEntityFields). */
  | { outcome: 'checked'; department: string; breaking: SchemaChange[]; dangerous: SchemaChange[]; errors: SchemaChange[] };

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
  const nullable = fieldsMadeNullable(before, after);
  return {
    outcome: 'checked',
    department,
    breaking: [
      ...findBreakingChanges(before, after).filter((change) => !nullable.some((field) => field.asBreaking === change.description)),
      ...accessPoliciesAdded(options.baselineSupergraphSdl, composed.supergraphSdl),
    ],
    dangerous: [...findDangerousChanges(before, after), ...nullable.map((field) => field.change)],
    errors: nonNullEntityFields(schemaDir),
  };
}

/**
 * Output fields that were non-null and now may be null (`[Licence!]!` to `[Licence!]`).
 * graphql-js counts them breaking (FIELD_CHANGED_KIND), but every operation front-end teams
 * send still validates and runs: what changes is that an answer may hold null where it
 * never did, which is what this tool calls dangerous. `asBreaking` is graphql-js's
 * description of the same change, to take it off the breaking list.
 */
function fieldsMadeNullable(before: GraphQLSchema, after: GraphQLSchema): { asBreaking: string; change: SchemaChange }[] {
  const changes: { asBreaking: string; change: SchemaChange }[] = [];
  for (const type of Object.values(before.getTypeMap())) {
    const now = after.getType(type.name);
    if (!(isObjectType(type) || isInterfaceType(type)) || !(isObjectType(now) || isInterfaceType(now))) continue;
    for (const field of Object.values(type.getFields())) {
      const was = field.type;
      const is = now.getFields()[field.name]?.type;
      if (!is || !isNonNullType(was) || String(was.ofType) !== String(is)) continue;
      changes.push({
        asBreaking: `${type.name}.${field.name} changed type from ${String(was)} to ${String(is)}.`,
        change: { type: 'FIELD_BECAME_NULLABLE', description: `${type.name}.${field.name} changed type from ${String(was)} to ${String(is)}: answers may now hold null there.` },
      });
    }
  }
  return changes;
}

type ObjectTypeNode = ObjectTypeDefinitionNode | ObjectTypeExtensionNode;

/**
 * Fields a department contributes, non-null, to an entity other departments share: every
 * `@key` type more than one department defines (Citizen). The gateway asks each department
 * for its own fields of the entity; when one fails, its fields are null, and a non-null
 * one passes that null up to the entity itself: `citizen` comes back null, with every
 * other department's facts on it (issue 16: license hung, the household facts lost).
 * So each such field but the key (which the gateway already holds) must be nullable,
 * the department that resolves it included. A list field keeps its items non-null
 * (`[Licence!]`): a department answers a list whole or not at all, so only the list itself
 * can be missing. Entities one department alone defines (Business) are that department's
 * to shape. Each error names the department, the field and where it is, and says what to
 * write instead; in departments.json order, then by place in the file.
 */
export function nonNullEntityFields(schemaDir = SCHEMA_DIR): SchemaChange[] {
  const departments = listDepartments(schemaDir).map(({ name }) => {
    const label = `${path.basename(schemaDir)}/${name}.graphql`;
    return { name, types: parse(new Source(readFileSync(path.join(schemaDir, `${name}.graphql`), 'utf8'), label)).definitions.filter(isObjectTypeNode) };
  });
  const holders = new Map<string, string[]>();
  const keyFields = new Map<string, Set<string>>();
  for (const department of departments) {
    for (const type of department.types) {
      const name = type.name.value;
      if (!holders.get(name)?.includes(department.name)) holders.set(name, [...(holders.get(name) ?? []), department.name]);
      for (const field of keyFieldsOf(type)) keyFields.set(name, new Set([...(keyFields.get(name) ?? []), field]));
    }
  }
  const errors: SchemaChange[] = [];
  for (const department of departments) {
    for (const type of department.types) {
      const keys = keyFields.get(type.name.value);
      if (!keys || (holders.get(type.name.value) ?? []).length < 2) continue;
      for (const field of type.fields ?? []) {
        if (field.type.kind !== Kind.NON_NULL_TYPE || keys.has(field.name.value) || field.directives?.some((directive) => directive.name.value === 'external')) continue;
        const place = field.name.loc ? `${field.name.loc.source.name}:${field.name.loc.startToken.line}:${field.name.loc.startToken.column}` : field.name.value;
        const sharers = listInWords(holders.get(type.name.value) ?? []);
        errors.push({
          type: 'NON_NULL_ENTITY_FIELD',
          description: `${department.name}: ${type.name.value}.${field.name.value} is ${print(field.type)} (${place}), on an entity ${sharers} share: write ${print(field.type.type)} instead.`,
        });
      }
    }
  }
  return errors;
}

/** `a and b`, `a, b and c`. */
function listInWords(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function isObjectTypeNode(definition: DefinitionNode): definition is ObjectTypeNode {
  return definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.OBJECT_TYPE_EXTENSION;
}

/** The top-level fields of a type's `@key(fields: "...")` selections (`idNumber`; `id` of `id owner { id }`). */
function keyFieldsOf(type: ObjectTypeNode): string[] {
  return (type.directives ?? [])
    .filter((directive) => directive.name.value === 'key')
    .flatMap((directive) => {
      const fields = directive.arguments?.find((argument) => argument.name.value === 'fields')?.value;
      if (fields?.kind !== Kind.STRING) return [];
      const [selection] = parse(`{ ${fields.value} }`).definitions;
      return selection.kind === Kind.OPERATION_DEFINITION ? selection.selectionSet.selections.flatMap((field) => (field.kind === Kind.FIELD ? [field.name.value] : [])) : [];
    });
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

/** The check as text for a terminal, and the exit code: 0 when nothing breaks, 1 on breaking changes or errors, 2 when it could not check. */
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
  if (check.errors.length === 0 && check.breaking.length === 0 && check.dangerous.length === 0) {
    lines.push('No breaking or dangerous changes for front-end teams.');
    return { text: lines.join('\n'), exitCode: 0 };
  }
  if (check.errors.length > 0) {
    lines.push(`${count(check.errors.length, 'error')} (one department failing would take the other departments' facts with it):`);
    lines.push(...check.errors.map((error) => `  ${error.description} [${error.type}]`));
    lines.push('Every field a department contributes to an entity several departments share must be nullable, its key aside: a non-null one that fails nulls the whole entity, with every other department\'s facts on it. A list keeps its items non-null: [Licence!], not [Licence!]!.');
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
  return { text: lines.join('\n'), exitCode: check.errors.length > 0 || check.breaking.length > 0 ? 1 : 0 };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
