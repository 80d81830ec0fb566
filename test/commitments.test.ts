import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../lib/paths';
import { CHEN_QIANG, writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { closedPort } from './helpers/closed-port';
import { startStack, useFixtureStack, type Stack } from './helpers/stack';

/**
 * Commitments (告知承诺): recorded by the service bureau for one proof of one case, checked
 * afterwards with the department holding the fact, and a breach blocks further ones
 * (国办发〔2020〕42号).
 */
const NOW = '2026-11-02T03:00:00.000Z';
const clock = () => new Date(NOW);
const city = useFixtureStack({ clock });

const BUSINESS = '330100-SJ-0001';
const BIRTH = '330100-WJ-0001';
const HOUSING = '330100-ZJ-0001';
const STATEMENT = '本人承诺经营场所合法使用，如有不实，愿承担相应法律责任。';

const RECORD = 'mutation Record($input: RecordCommitmentInput!) { recordCommitment(input: $input) { id serviceItem caseNumber proof applicant statement signedAt followUpDeadline state lastCheckedAt } }';
const CHECKLIST = `query Checklist($item: String!, $applicant: ID!) {
  proofChecklist(serviceItem: $item, applicant: $applicant) { isComplete proofs { code status commitment { id state lastCheckedAt } remedy } }
}`;

async function officer(stack: Stack, item: string, caseNumber: string) {
  return { authorization: `Bearer ${await stack.token({ serviceItems: [item], scopes: [] })}`, 'x-service-item': item, 'x-case-number': caseNumber };
}

async function record(stack: Stack, caseNumber: string, input: { serviceItem?: string; proof?: string; applicant: string; statement?: string }, item = input.serviceItem ?? BUSINESS) {
  const variables = { input: { serviceItem: item, proof: 'JYCSZM', statement: STATEMENT, ...input } };
  return stack.query(RECORD, variables, await officer(stack, item, caseNumber));
}

async function commitmentProof(stack: Stack, item: string, caseNumber: string, applicant: string, code: string) {
  const { body } = await stack.query(CHECKLIST, { item, applicant }, await officer(stack, item, caseNumber));
  return { isComplete: body.data.proofChecklist.isComplete, proof: body.data.proofChecklist.proofs.find((each: { code: string }) => each.code === code) };
}

const refused = (code: string, message: string) => ({ data: null, errors: [{ message, path: ['recordCommitment'], extensions: { code, department: 'service' } }] });

test('an applicant signs a commitment instead of a proof: offered, recorded for the case, then COMMITTED', async () => {
  expect(await commitmentProof(city.stack, BUSINESS, 'SJ-2026-0001', ZHANG_WEI, 'JYCSZM')).toEqual({
    isComplete: false,
    proof: {
      code: 'JYCSZM', status: 'COMMITMENT_AVAILABLE', commitment: null,
      remedy: 'the applicant may sign a commitment (告知承诺) instead of 经营场所证明; the license department checks it within 60 days',
    },
  });
  // The commitment proof reads nothing: the checklist asked the gateway for the other two proofs only.
  expect(city.stack.service.gatewayRequests.map((request) => Object.keys(request.variables))).toEqual([['SFZM', 'ZZQK']]);
  city.stack.resetCounts();

  const { status, body } = await record(city.stack, 'SJ-2026-0001', { applicant: ZHANG_WEI });
  expect({ status, body }).toEqual({
    status: 200,
    body: {
      data: {
        recordCommitment: {
          id: expect.stringMatching(/^\d+$/), serviceItem: BUSINESS, caseNumber: 'SJ-2026-0001', proof: 'JYCSZM', applicant: ZHANG_WEI,
          statement: STATEMENT, signedAt: NOW, followUpDeadline: '2027-01-01T03:00:00.000Z', state: 'PENDING', lastCheckedAt: null,
        },
      },
    },
  });
  expect(city.stack.service.gatewayRequests).toEqual([]);

  expect(await commitmentProof(city.stack, BUSINESS, 'SJ-2026-0001', ZHANG_WEI, 'JYCSZM')).toEqual({
    isComplete: true,
    proof: { code: 'JYCSZM', status: 'COMMITTED', commitment: { id: body.data.recordCommitment.id, state: 'PENDING', lastCheckedAt: null }, remedy: null },
  });
  // Commitments belong to a case: the same applicant's next case is offered one afresh.
  expect((await commitmentProof(city.stack, BUSINESS, 'SJ-2026-0002', ZHANG_WEI, 'JYCSZM')).proof.status).toBe('COMMITMENT_AVAILABLE');
});

test('one commitment per proof and case', async () => {
  expect((await record(city.stack, 'SJ-2026-0003', { applicant: ZHANG_WEI })).body.data.recordCommitment.state).toBe('PENDING');
  expect((await record(city.stack, 'SJ-2026-0003', { applicant: ZHANG_WEI })).body).toEqual(
    refused('BAD_USER_INPUT', 'case SJ-2026-0003 already has a commitment for proof JYCSZM'),
  );
});

test.each([
  ['a proof satisfied another way', { applicant: ZHANG_WEI, proof: 'SFZM' }, refused('BAD_USER_INPUT', `proof SFZM of service item ${BUSINESS} is satisfied by DATA_SHARING, not by a commitment`)],
  ['a proof the item does not have', { applicant: ZHANG_WEI, proof: 'XYZ' }, refused('BAD_USER_INPUT', `proof must be one of service item ${BUSINESS}'s proofs (SFZM, JYCSZM, ZZQK), got "XYZ"`)],
  ['an empty statement', { applicant: ZHANG_WEI, statement: '  ' }, refused('BAD_USER_INPUT', 'statement must be the text the applicant signed, 1 to 2000 characters, got 0')],
  ['another service item than the request serves', { applicant: ZHANG_WEI, serviceItem: BIRTH }, refused('FORBIDDEN', `serviceItem must be the service item this request serves (X-Service-Item ${BUSINESS}), got "${BIRTH}"`)],
])('%s is refused', async (_case, input, expected) => {
  const { serviceItem, ...rest } = input as { serviceItem?: string; applicant: string };
  expect((await record(city.stack, 'SJ-2026-0004', { ...rest, serviceItem: serviceItem ?? BUSINESS }, BUSINESS)).body).toEqual(expected);
});

test('a malformed applicant is refused by the gateway before the bureau, and by the bureau itself when called directly, with one message', async () => {
  const message = 'input.applicant must be 18 characters (GB 11643), got 16';
  const { status, body } = await record(city.stack, 'SJ-2026-0005', { applicant: '3301061975031200' });
  expect({ status, body }).toEqual({ status: 400, body: { errors: [{ message, extensions: { code: 'BAD_USER_INPUT' } }] } });
  const direct = await city.stack.callDepartment('service', RECORD, { input: { serviceItem: BUSINESS, proof: 'JYCSZM', applicant: '3301061975031200', statement: STATEMENT } }, { serviceItem: BUSINESS, caseNumber: 'SJ-2026-0005' });
  const { errors } = direct.body as { errors: { message: string; extensions: { code: string } }[] };
  expect(errors.map((error) => ({ message: error.message, code: error.extensions.code }))).toEqual([{ message, code: 'BAD_USER_INPUT' }]);
});

test('a high-risk service item takes no commitment: the gateway refuses the mutation for it, and so does the bureau\'s own purpose check', async () => {
  const { status, body } = await record(city.stack, 'ZJ-2026-0001', { serviceItem: HOUSING, proof: 'JZZM', applicant: ZHANG_WEI });
  expect({ status, body }).toEqual({
    status: 403,
    body: {
      errors: [{
        message: `service item ${HOUSING} does not need Mutation.recordCommitment: ask only for the fields its proofs need`,
        extensions: { code: 'FORBIDDEN', notAllowed: ['Mutation.recordCommitment'] },
      }],
    },
  });
  // Called as the gateway calls it, the bureau refuses it before its resolver runs: the catalog gives the item no commitments.
  const direct = await city.stack.callDepartment('service', RECORD, { input: { serviceItem: HOUSING, proof: 'JZZM', applicant: ZHANG_WEI, statement: STATEMENT } }, { serviceItem: HOUSING, caseNumber: 'ZJ-2026-0001' });
  expect({ status: direct.status, body: direct.body }).toEqual({
    status: 403,
    body: {
      errors: [{
        message: `service item ${HOUSING} does not need Mutation.recordCommitment: ask only for the fields its proofs need`,
        extensions: { code: 'FORBIDDEN', notAllowed: ['Mutation.recordCommitment'] },
      }],
    },
  });
});

/** A city of its own, so the follow-up job sees only this test's commitments. */
async function withOwnCity(run: (stack: Stack, dataDir: string) => Promise<void>) {
  const fixture = writeFixtureRegistries();
  const stack = await startStack({ dataDir: fixture.dataDir, clock });
  try {
    await run(stack, fixture.dataDir);
  } finally {
    await stack.stop();
    fixture.remove();
  }
}

test('the follow-up job: FULFILLED when the fact holds, PENDING until the deadline, BREACHED after it; a breach blocks further commitments', () => withOwnCity(async (stack) => {
  const residenceStatement = '本人承诺在杭州市连续居住满六个月。';
  await record(stack, 'SJ-2026-0101', { applicant: ZHANG_WEI });
  await record(stack, 'SJ-2026-0102', { applicant: CHEN_QIANG });
  await record(stack, 'SJ-2026-0103', { applicant: CHEN_QIANG });
  await record(stack, 'WJ-2026-0104', { serviceItem: BIRTH, proof: 'JZZM', applicant: CHEN_QIANG, statement: residenceStatement });
  stack.resetCounts();

  expect(await stack.service.verifyDueCommitments(new Date('2026-11-03T00:00:00.000Z'))).toEqual({
    checked: 4, fulfilled: 2, breached: 0, pending: 2, unchecked: 0, problems: [],
  });
  // Each check goes through the gateway under the commitment's own service item and case, asking for the answer alone.
  const followUp = (caseNumber: string, applicant: string) => ({
    query: 'query CommitmentFollowUp($JYCSZM: ID!, $JYCSZM_kind: LicenceKind!) { JYCSZM: citizen(idNumber: $JYCSZM) { holdsActiveLicence(kind: $JYCSZM_kind) { holds department checkedAt } } }',
    variables: { JYCSZM: applicant, JYCSZM_kind: 'BUSINESS_LICENCE' },
    headers: { authorization: expect.stringMatching(/^Bearer /), 'x-service-item': BUSINESS, 'x-case-number': caseNumber },
  });
  expect(stack.service.gatewayRequests).toEqual([
    followUp('SJ-2026-0101', ZHANG_WEI),
    followUp('SJ-2026-0102', CHEN_QIANG),
    followUp('SJ-2026-0103', CHEN_QIANG),
    {
      query: 'query CommitmentFollowUp($JZZM: ID!, $JZZM_division: String!, $JZZM_forAtLeastMonths: Int!) { JZZM: citizen(idNumber: $JZZM) { residesIn(division: $JZZM_division, forAtLeastMonths: $JZZM_forAtLeastMonths) { holds department checkedAt } } }',
      variables: { JZZM: CHEN_QIANG, JZZM_division: '3301', JZZM_forAtLeastMonths: 6 },
      headers: { authorization: expect.stringMatching(/^Bearer /), 'x-service-item': BIRTH, 'x-case-number': 'WJ-2026-0104' },
    },
  ]);
  const claims = JSON.parse(Buffer.from(stack.service.gatewayRequests[0].headers.authorization.split('.')[1], 'base64url').toString('utf8'));
  expect(claims).toEqual(expect.objectContaining({ app: 'service-bureau', role: 'service', sub: 'commitment-follow-up' }));
  expect(await commitmentProof(stack, BUSINESS, 'SJ-2026-0101', ZHANG_WEI, 'JYCSZM')).toEqual({
    isComplete: true,
    proof: { code: 'JYCSZM', status: 'COMMITTED', commitment: { id: expect.any(String), state: 'FULFILLED', lastCheckedAt: '2026-11-03T00:00:00.000Z' }, remedy: null },
  });
  expect((await commitmentProof(stack, BUSINESS, 'SJ-2026-0102', CHEN_QIANG, 'JYCSZM')).proof.commitment.state).toBe('PENDING');

  // Past the 60-day deadline Chen Qiang still holds no business licence.
  expect(await stack.service.verifyDueCommitments(new Date('2027-01-02T00:00:00.000Z'))).toEqual({
    checked: 2, fulfilled: 0, breached: 2, pending: 0, unchecked: 0, problems: [],
  });
  expect(await commitmentProof(stack, BUSINESS, 'SJ-2026-0102', CHEN_QIANG, 'JYCSZM')).toEqual({
    isComplete: false,
    proof: {
      code: 'JYCSZM', status: 'COMMITTED', commitment: { id: expect.any(String), state: 'BREACHED', lastCheckedAt: '2027-01-02T00:00:00.000Z' },
      remedy: 'the commitment was breached: bring the paper proof (经营场所证明)',
    },
  });
  const notOffered = (name: string) => `the applicant breached an earlier commitment, so none is offered (国办发〔2020〕42号): bring the paper proof (${name})`;
  expect((await commitmentProof(stack, BUSINESS, 'SJ-2026-0105', CHEN_QIANG, 'JYCSZM')).proof).toEqual({ code: 'JYCSZM', status: 'NOT_SATISFIED', commitment: null, remedy: notOffered('经营场所证明') });
  expect((await commitmentProof(stack, BIRTH, 'WJ-2026-0106', CHEN_QIANG, 'JZZM')).proof).toEqual({ code: 'JZZM', status: 'NOT_SATISFIED', commitment: null, remedy: notOffered('居住证明') });
  expect((await record(stack, 'SJ-2026-0105', { applicant: CHEN_QIANG })).body).toEqual(
    refused('FORBIDDEN', 'the applicant breached an earlier commitment, so no commitment is accepted (国办发〔2020〕42号): the case needs the paper proof'),
  );
  expect(await stack.service.verifyDueCommitments(new Date('2027-01-03T00:00:00.000Z'))).toEqual({ checked: 0, fulfilled: 0, breached: 0, pending: 0, unchecked: 0, problems: [] });

  // Auditors list breaches page by page (the bureau's own field; the gateway's auditor access is wired separately).
  const breaches = async (variables: Record<string, unknown>) => {
    const response = await stack.callDepartment('service', 'query ($first: Int, $after: String) { breachedCommitments(first: $first, after: $after) { commitments { caseNumber applicant state } endCursor hasNextPage } }', variables, { role: 'auditor' });
    return response.body;
  };
  const first = await breaches({ first: 1 });
  expect(first.data.breachedCommitments).toEqual({
    commitments: [{ caseNumber: 'SJ-2026-0102', applicant: CHEN_QIANG, state: 'BREACHED' }], endCursor: expect.any(String), hasNextPage: true,
  });
  expect((await breaches({ first: 1, after: first.data.breachedCommitments.endCursor })).data.breachedCommitments).toEqual({
    commitments: [{ caseNumber: 'SJ-2026-0103', applicant: CHEN_QIANG, state: 'BREACHED' }], endCursor: expect.any(String), hasNextPage: false,
  });
  expect((await breaches({ first: 0 })).errors).toEqual([expect.objectContaining({ message: 'first must be from 1 to 100, got 0', extensions: { code: 'BAD_USER_INPUT' } })]);
  expect((await breaches({ after: 'bm90LWEtY3Vyc29y' })).errors).toEqual([
    expect.objectContaining({ message: 'after must be the endCursor of an earlier page of breachedCommitments', extensions: { code: 'BAD_USER_INPUT' } }),
  ]);
}));

test('a department that is down is never the applicant\'s breach: the commitment stays PENDING past its deadline', () => withOwnCity(async (stack) => {
  await record(stack, 'SJ-2026-0201', { applicant: CHEN_QIANG });
  await stack.subgraphs.license.stop();
  expect(await stack.service.verifyDueCommitments(new Date('2027-06-01T00:00:00.000Z'))).toEqual({
    checked: 1, fulfilled: 0, breached: 0, pending: 0, unchecked: 1, problems: ['the license department could not answer'],
  });
  expect((await commitmentProof(stack, BUSINESS, 'SJ-2026-0201', CHEN_QIANG, 'JYCSZM')).proof.commitment).toEqual({ id: expect.any(String), state: 'PENDING', lastCheckedAt: null });
}));

test('npm run commitments:verify runs the follow-up once, through the gateway it is pointed at', () => withOwnCity(async (stack, dataDir) => {
  await record(stack, 'SJ-2026-0301', { applicant: ZHANG_WEI });
  const run = (gatewayUrl: string) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['scripts/commitments-verify.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PROOFLESS_DATA_DIR: dataDir, PROOFLESS_GATEWAY_URL: gatewayUrl, PROOFLESS_CATALOG: path.join(dataDir, 'test-catalog.json') },
    }, (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }));
  });
  // Port 9 is one Node's fetch refuses ("bad port"): the job does not run at all, and says why.
  expect(await run('http://127.0.0.1:9/graphql')).toEqual({
    code: 2,
    stdout: '',
    stderr: 'commitments:verify: PROOFLESS_GATEWAY_URL must name a port Node\'s fetch connects to, got 9, a "bad port" the fetch standard blocks: the service bureau could not reach the gateway there\n',
  });
  const nobodyListens = await closedPort();
  expect(await run(`http://127.0.0.1:${nobodyListens}/graphql`)).toEqual({
    code: 1,
    stdout: 'commitments checked: 1 (0 fulfilled, 0 breached, 0 still pending, 1 not checked)\n',
    stderr: `the gateway at 127.0.0.1:${nobodyListens} could not be reached: connect ECONNREFUSED 127.0.0.1:${nobodyListens}\n`,
  });
  expect(await run(stack.gatewayUrl)).toEqual({ code: 0, stdout: 'commitments checked: 1 (1 fulfilled, 0 breached, 0 still pending, 0 not checked)\n', stderr: '' });
  expect((await commitmentProof(stack, BUSINESS, 'SJ-2026-0301', ZHANG_WEI, 'JYCSZM')).proof.commitment.state).toBe('FULFILLED');
}));
