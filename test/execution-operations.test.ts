import type { DocumentNode } from 'graphql';
import { CHEN_QIANG, writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { startStack, type Stack } from './helpers/stack';

/**
 * The memo of @apollo/gateway's per-request `operationFromDocument` call
 * (gateway/execution-operations.ts): the gateway's executor must still make that call in
 * the shape the memo answers, a repeated operation must be built once, and its answers
 * must stay each request's own.
 */

// Counts what the memo passes on to the real builder: installed before the stack's gateway installs the memo over it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const operations = require('@apollo/federation-internals/dist/operations') as {
  operationFromDocument(schema: object, document: DocumentNode, options?: { operationName?: string; validate?: boolean }): unknown;
};
const realBuild = operations.operationFromDocument;
const executionBuilds: DocumentNode[] = [];
operations.operationFromDocument = (schema, document, options) => {
  if (options?.validate === false) executionBuilds.push(document);
  return realBuild(schema, document, options);
};

let fixture: ReturnType<typeof writeFixtureRegistries>;
let stack: Stack;

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  stack = await startStack({ dataDir: fixture.dataDir });
});

afterAll(async () => {
  await stack?.stop();
  fixture.remove();
});

beforeEach(() => {
  executionBuilds.length = 0;
});

const FACTS = `query Facts($id: ID!) { citizen(idNumber: $id) { identity { name } residence { status } } }`;

test('one operation asked for twice with different citizens is built for execution once, and each answer is its own', async () => {
  const first = await stack.query(FACTS, { id: ZHANG_WEI });
  const second = await stack.query(FACTS, { id: CHEN_QIANG });

  expect(first.body).toEqual({ data: { citizen: { identity: { name: '张伟' }, residence: { status: 'HOUSEHOLD_ADDRESS' } } } });
  expect(second.body).toEqual({ data: { citizen: { identity: { name: '陈强' }, residence: { status: 'PERMIT_VALID' } } } });
  expect(executionBuilds.length).toBe(1);
});

test('another operation text is built once for itself, fragments included, and its answer follows its own selection', async () => {
  const withFragment = `query Named($id: ID!) { citizen(idNumber: $id) { ...Who } } fragment Who on Citizen { identity { name } }`;
  const answers = [await stack.query(withFragment, { id: ZHANG_WEI }), await stack.query(withFragment, { id: ZHANG_WEI })];

  for (const answer of answers) expect(answer).toMatchObject({ status: 200, body: { data: { citizen: { identity: { name: '张伟' } } } } });
  expect(answers[0].body.data.citizen).toEqual({ identity: { name: '张伟' } });
  expect(executionBuilds.length).toBe(1);
  expect(executionBuilds[0].definitions.map((definition) => definition.kind)).toEqual(['OperationDefinition', 'FragmentDefinition']);
});

test('@skip and @include still follow each request\'s variables on a memoised operation', async () => {
  const conditional = `query Maybe($id: ID!, $withResidence: Boolean!) { citizen(idNumber: $id) { identity { name } residence @include(if: $withResidence) { status } } }`;
  const withIt = await stack.query(conditional, { id: ZHANG_WEI, withResidence: true });
  const without = await stack.query(conditional, { id: ZHANG_WEI, withResidence: false });

  expect(withIt.body).toEqual({ data: { citizen: { identity: { name: '张伟' }, residence: { status: 'HOUSEHOLD_ADDRESS' } } } });
  expect(without.body).toEqual({ data: { citizen: { identity: { name: '张伟' } } } });
  expect(executionBuilds.length).toBe(1);
});
