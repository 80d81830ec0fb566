import { getArgumentValues } from 'graphql';
import type { Check, CheckArgument } from './catalog';
import type { FieldWithArguments } from './field-arguments';

/**
 * Why an operation's checks are not the service item's, or null when they are. A check
 * (`residesIn(division: "3301", forAtLeastMonths: 6)`) discloses nothing but its answer
 * only when its arguments are the catalog's: asked with any division and any number of
 * months, a few yes/no answers give the district a person lives in and since when, and
 * `inSameHouseholdAs` with any relation becomes a marriage check. So a field the item's
 * proofs check may be selected only with the arguments of one of those checks: each
 * constant argument equal to the catalog's, each person argument (an ID number, checked
 * and recorded as asked like every other) free, and no other argument but at its default.
 * The message says what the item's checks ask, never what the request sent.
 */
export function checkArgumentsProblem(
  serviceItem: string,
  checks: ReadonlyMap<string, readonly Check[]>,
  fields: readonly FieldWithArguments[],
  variables: Record<string, unknown>,
): string | null {
  if (checks.size === 0) return null;
  for (const { coordinate, definition, node } of fields) {
    const allowed = checks.get(coordinate);
    if (!allowed) continue;
    let values: Record<string, unknown>;
    try {
      values = getArgumentValues(definition, node, variables);
    } catch {
      values = {};
    }
    const defaults = new Map(definition.args.map((argument) => [argument.name, argument.defaultValue]));
    const isAsAllowed = (check: Check) =>
      Object.entries(values).every(([name, value]) => (name in check.arguments ? matches(check.arguments[name], value) : value === defaults.get(name))) &&
      Object.entries(check.arguments).every(([name, argument]) => typeof argument === 'object' || name in values);
    if (!allowed.some(isAsAllowed)) {
      return `service item ${serviceItem} asks ${coordinate} only as its proofs do: ${allowed.map(describe).join(', or ')}`;
    }
  }
  return null;
}

function matches(argument: CheckArgument, value: unknown): boolean {
  return typeof argument === 'object' ? typeof value === 'string' : value === argument;
}

function describe(check: Check): string {
  const argumentsText = Object.entries(check.arguments)
    .map(([name, argument]) => `${name}: ${typeof argument === 'object' ? `the ${argument.person.toLowerCase()}'s ID number` : JSON.stringify(argument)}`)
    .join(', ');
  return `${check.field}(${argumentsText})`;
}
