import { LI_NA, SNACK_SHOP, writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { closedPort } from './helpers/closed-port';
import { startFaultServer, type FaultServer } from './helpers/fault-server';
import { startStack, type Stack } from './helpers/stack';

/**
 * Partial answers (issue 16, item 11): one department failing, hung past its timeout or
 * down, while a query selects facts from all three. Its fields are null with an error
 * naming it; every other department's facts are in `data`. That holds because every
 * field a department contributes to a shared entity (Citizen) is nullable: a non-null
 * one that fails nulls the whole citizen, with the other departments' facts
 * (`npm run schema:check` refuses one, lib/schema-check.ts).
 *
 * The query reaches Zhang Wei twice: from household's `citizen(idNumber:)` and from
 * license's `business(creditCode:)`, as the snack shop's legal representative. A root
 * field is its department's alone, so the failing department's root answers null, and
 * the other root still carries the other departments' facts.
 */
const QUERY = `{
  citizen(idNumber: "${ZHANG_WEI}") { ...Facts }
  business(creditCode: "${SNACK_SHOP}") { name legalRepresentative { ...Facts } }
}
fragment Facts on Citizen {
  idNumber
  identity { name }
  household { householdNumber }
  inSameHouseholdAs(idNumber: "${LI_NA}", relation: SPOUSE) { holds department }
  residence { status }
  residenceHistory { from to }
  residesIn(division: "330106", forAtLeastMonths: 12) { holds department }
  licences { kind status }
  holdsActiveLicence(kind: DRIVING_LICENCE) { holds department }
}`;

/** Each department's facts about Zhang Wei in the fixture city, as QUERY selects them. */
const FACTS = {
  household: {
    identity: { name: '张伟' },
    household: { householdNumber: '330106001234' },
    inSameHouseholdAs: { holds: true, department: 'household' },
  },
  residence: {
    residence: { status: 'HOUSEHOLD_ADDRESS' },
    residenceHistory: [{ from: '2001-07-01', to: null }],
    residesIn: { holds: true, department: 'residence' },
  },
  license: {
    licences: [{ kind: 'DRIVING_LICENCE', status: 'ACTIVE' }, { kind: 'BUSINESS_LICENCE', status: 'ACTIVE' }, { kind: 'FOOD_BUSINESS_LICENCE', status: 'EXPIRED' }],
    holdsActiveLicence: { holds: true, department: 'license' },
  },
};

type Department = keyof typeof FACTS;

/** Zhang Wei's facts with `failed`'s fields null and every other department's there. */
function factsWithout(failed: Department) {
  const nulls = Object.fromEntries(Object.keys(FACTS[failed]).map((field) => [field, null]));
  return { idNumber: ZHANG_WEI, ...FACTS.household, ...FACTS.residence, ...FACTS.license, ...nulls };
}

/** The whole answer when `failed` fails: its root field, if it has one here, is null; an error per call the gateway made to it. */
function answerWithout(failed: Department, error: { message: string; extensions: { code: string; department: Department } }, calls: number) {
  const facts = factsWithout(failed);
  return {
    data: {
      citizen: failed === 'household' ? null : facts,
      business: failed === 'license' ? null : { name: '杭州市西湖区张记小吃店', legalRepresentative: facts },
    },
    errors: Array.from({ length: calls }, () => error),
  };
}

/** How often the query plan calls each department for QUERY: once per root and once per entity fetch from the other root. */
const CALLS: Record<Department, number> = { household: 2, residence: 2, license: 2 };

let fixture: ReturnType<typeof writeFixtureRegistries>;

beforeAll(() => {
  fixture = writeFixtureRegistries();
});

afterAll(() => {
  fixture.remove();
});

/** Every case calls the department: the cache, which would answer repeated fetches itself, is off. */
const startWith = (env: Record<string, string>) => startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_CACHE: 'off', ...env } });

describe.each(Object.keys(FACTS) as Department[])('the %s department failing', (department) => {
  const variable = `PROOFLESS_${department.toUpperCase()}`;

  describe('hung past its timeout', () => {
    let faults: FaultServer;
    let stack: Stack;

    beforeAll(async () => {
      faults = await startFaultServer({ isDepartment: true });
      stack = await startWith({ [`${variable}_URL`]: faults.url, [`${variable}_TIMEOUT_MS`]: '300' });
    });

    afterAll(async () => {
      await stack?.stop();
      await faults.stop();
    });

    test('DEPARTMENT_TIMEOUT naming it, its fields null, every other department\'s facts kept', async () => {
      // It never answers: the gateway gives up on each call after 300 ms and closes the connection.
      faults.next(CALLS[department]).replyAfter(600_000, 200, {});
      const { status, body } = await stack.query(QUERY);
      expect({ status, body }).toEqual({
        status: 200,
        body: answerWithout(department, { message: `the ${department} department did not answer within 300 ms`, extensions: { code: 'DEPARTMENT_TIMEOUT', department } }, CALLS[department]),
      });
      expect({ pending: faults.pendingAnswers(), unexpected: faults.unexpectedRequests() }).toEqual({ pending: [], unexpected: [] });
    });
  });

  describe('down', () => {
    let stack: Stack;

    beforeAll(async () => {
      stack = await startWith({ [`${variable}_URL`]: `https://127.0.0.1:${await closedPort()}/graphql` });
    });

    afterAll(() => stack?.stop());

    test('DEPARTMENT_UNAVAILABLE naming it, its fields null, every other department\'s facts kept', async () => {
      const { status, body } = await stack.query(QUERY);
      expect({ status, body }).toEqual({
        status: 200,
        body: answerWithout(department, { message: `the ${department} department could not answer`, extensions: { code: 'DEPARTMENT_UNAVAILABLE', department } }, CALLS[department]),
      });
    });
  });
});

test('with every department up, the same query answers every fact twice', async () => {
  const stack = await startWith({});
  try {
    const facts = { idNumber: ZHANG_WEI, ...FACTS.household, ...FACTS.residence, ...FACTS.license };
    expect(await stack.query(QUERY)).toEqual(expect.objectContaining({
      status: 200,
      body: { data: { citizen: facts, business: { name: '杭州市西湖区张记小吃店', legalRepresentative: facts } } },
    }));
  } finally {
    await stack.stop();
  }
});

test('the proof checklist with the license department hung: its proof is UNAVAILABLE, not NOT_SATISFIED, and the household\'s is SATISFIED', async () => {
  const faults = await startFaultServer({ isDepartment: true });
  const stack = await startWith({ PROOFLESS_LICENSE_URL: faults.url, PROOFLESS_LICENSE_TIMEOUT_MS: '300' });
  try {
    faults.next().replyAfter(600_000, 200, {});
    const item = '330100-SJ-0001';
    const headers = { authorization: `Bearer ${await stack.token({ serviceItems: [item], scopes: [] })}`, 'x-service-item': item, 'x-case-number': 'SJ-2026-0777' };
    const { body } = await stack.query(
      'query ($item: String!, $applicant: ID!) { proofChecklist(serviceItem: $item, applicant: $applicant) { isComplete proofs { code status facts remedy } } }',
      { item, applicant: ZHANG_WEI },
      headers,
    );
    expect(body).toEqual({
      data: {
        proofChecklist: {
          isComplete: false,
          proofs: [
            {
              code: 'SFZM',
              status: 'SATISFIED',
              facts: { identity: { name: '张伟', gender: 'MALE', birthDate: '1975-03-12', provenance: { department: 'household', authority: '杭州市公安局', updatedAt: '2024-05-06T02:00:00.000Z' } } },
              remedy: null,
            },
            { code: 'JYCSZM', status: 'COMMITMENT_AVAILABLE', facts: null, remedy: 'the applicant may sign a commitment (告知承诺) instead of 经营场所证明; the license department checks it within 60 days' },
            { code: 'ZZQK', status: 'UNAVAILABLE', facts: null, remedy: 'the license department could not answer: ask again later, or bring the paper proof (已有证照情况)' },
          ],
        },
      },
    });
    expect({ pending: faults.pendingAnswers(), unexpected: faults.unexpectedRequests() }).toEqual({ pending: [], unexpected: [] });
  } finally {
    await stack.stop();
    await faults.stop();
  }
});
