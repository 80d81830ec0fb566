import { readFileSync } from 'node:fs';
import { Kind, parse, type ObjectTypeDefinitionNode, type TypeNode } from 'graphql';
import { composeSupergraph, SUPERGRAPH_FILE } from '../lib/composition';
import { isIdentifierArgument } from '../lib/identifier-arguments';

test('the committed supergraph is what the departments\' schemas compose to (run `npm run compose` after editing schema/)', () => {
  const result = composeSupergraph();
  expect(result).toEqual({ ok: true, supergraphSdl: expect.any(String) });
  expect(readFileSync(SUPERGRAPH_FILE, 'utf8')).toBe((result as { supergraphSdl: string }).supergraphSdl);
});

test('every root field that returns citizens takes the ID numbers it returns as a required argument', () => {
  const result = composeSupergraph();
  if (!result.ok) throw new Error(result.errors.join('\n'));
  const query = parse(result.supergraphSdl).definitions.find(
    (definition): definition is ObjectTypeDefinitionNode => definition.kind === Kind.OBJECT_TYPE_DEFINITION && definition.name.value === 'Query',
  );
  const citizenFields = (query?.fields ?? []).filter((field) => namedTypeOf(field.type) === 'Citizen');
  expect(citizenFields.map((field) => field.name.value)).toEqual(['citizen', 'citizens']);
  for (const field of citizenFields) {
    const identifiers = (field.arguments ?? []).filter((argument) => isIdentifierArgument(argument.name.value) && argument.type.kind === Kind.NON_NULL_TYPE);
    expect({ field: field.name.value, identifiers: identifiers.length }).toEqual({ field: field.name.value, identifiers: 1 });
  }
});

function namedTypeOf(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedTypeOf(type.type);
}
