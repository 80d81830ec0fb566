import type { CitizenPool, KnownCitizen } from './citizens';
import type { TargetName } from './stack';

/**
 * The load scenarios, one entry each. A scenario says which service item its token is
 * granted and its purpose headers name, which targets it drives (in order), and how to
 * build one request with the check its answer must pass: a fast wrong answer counts as an
 * error. Every target gets the same headers and bodies.
 *
 * Adding a scenario is adding an entry here; one measuring the cache draws citizens with
 * a Zipf distribution and drives a Proofless gateway with the cache on (one more entry in
 * stack.ts PROOFLESS_GATEWAYS) beside `proofless`, which has it off.
 */

export interface GraphQLBody {
  query: string;
  variables: Record<string, unknown>;
}

export interface ScenarioRequest {
  body: GraphQLBody;
  /** What is wrong with an answer's `data` (one without `errors`), or null when it is the right answer. */
  check(data: unknown): string | null;
}

export interface Scenario {
  id: string;
  title: string;
  /** Granted by the token and named in X-Service-Item. */
  serviceItem: string;
  /** X-Case-Number. */
  caseNumber: string;
  targets: readonly TargetName[];
  /** Why the plain gateway is not among the targets, when it is not. */
  whyNoBaseline?: string;
  /** Compare the departments' HTTP requests per operation with the query plan's fetches. */
  isFetchCountChecked?: boolean;
  /** The target every row's ratios are taken against; default the plain gateway. */
  reference?: TargetName;
  /** Read each Proofless target's cache hits and misses from its /metrics around the measurement. */
  isCacheMeasured?: boolean;
  /** Concurrent connections it is also measured at, after the standard load, every target at each level (LOAD_CURVE says why). */
  higherLoads?: readonly number[];
  next(citizens: CitizenPool): ScenarioRequest;
}

const CITIZEN_FACTS = `query CitizenFacts($id: ID!) {
  citizen(idNumber: $id) {
    idNumber
    identity { name birthDate provenance { department updatedAt } }
    household { householdNumber members { relation citizen { identity { name } } } }
    residence { status address { division { name } detail } }
    licences { kind status }
  }
}`;

const PROOF_CHECKLIST = `query ProofChecklist($item: String!, $applicant: ID!) {
  proofChecklist(serviceItem: $item, applicant: $applicant) {
    name isComplete
    proofs { code name mode status facts verification { holds department checkedAt } commitment { state followUpDeadline } remedy }
  }
}`;

const CITIZENS_FACTS = `query CitizensFacts($ids: [ID!]!) {
  citizens(idNumbers: $ids) {
    idNumber
    identity { name }
    household { householdNumber }
    residence { status }
    licences { kind status }
  }
}`;

const CITIZEN_IDENTITY = `query CitizenIdentity($id: ID!) {
  citizen(idNumber: $id) { idNumber identity { name gender birthDate } }
}`;

export const CITIZENS_PER_LIST = 100;

/**
 * (A)'s higher loads. At the standard 10 connections the plain gateway's one thread is
 * already saturated, while Proofless is bound by its latency (10 connections divided by
 * the time an answer takes, Little's law): every answer waits a few milliseconds for its
 * audit record to be fsynced, and the machine has CPU to spare. At 20 and 40 connections
 * each gateway shows what it can serve flat out, and at what p99.
 */
const LOAD_CURVE = [20, 40] as const;
const SOLE_PROPRIETOR_ITEM = '330100-SJ-0001';

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'A',
    title: "one citizen's household, residence and licence facts",
    serviceItem: '330100-ZJ-0001',
    caseNumber: 'BENCH-A-000001',
    targets: ['plain', 'proofless'],
    higherLoads: LOAD_CURVE,
    next(citizens) {
      const citizen = citizens.pick();
      return { body: { query: CITIZEN_FACTS, variables: { id: citizen.idNumber } }, check: (data) => checkCitizen(data, 'citizen', citizen) };
    },
  },
  {
    id: 'B',
    title: "a service item's proof checklist",
    serviceItem: SOLE_PROPRIETOR_ITEM,
    caseNumber: 'BENCH-B-000001',
    targets: ['proofless'],
    whyNoBaseline:
      'the service bureau evaluates a checklist by calling back into the Proofless gateway under the caller\'s token and purpose headers; ' +
      'a plain gateway neither forwards those headers nor could stand in for that call, so a baseline figure would measure Proofless plus plain',
    next(citizens) {
      const citizen = citizens.pick();
      return {
        body: { query: PROOF_CHECKLIST, variables: { item: SOLE_PROPRIETOR_ITEM, applicant: citizen.idNumber } },
        check: (data) => checkChecklist(data, citizen),
      };
    },
  },
  {
    id: 'C',
    title: `citizens() for ${CITIZENS_PER_LIST} IDs, all three departments`,
    serviceItem: '330100-ZJ-0001',
    caseNumber: 'BENCH-C-000001',
    targets: ['plain', 'proofless'],
    isFetchCountChecked: true,
    next(citizens) {
      const asked = citizens.pickDistinct(CITIZENS_PER_LIST);
      return { body: { query: CITIZENS_FACTS, variables: { ids: asked.map((c) => c.idNumber) } }, check: (data) => checkCitizenList(data, asked) };
    },
  },
  {
    id: 'D',
    title: "one department only: a citizen's identity (household)",
    serviceItem: '330100-MZ-0002',
    caseNumber: 'BENCH-D-000001',
    targets: ['plain', 'proofless', 'household'],
    next(citizens) {
      const citizen = citizens.pick();
      return { body: { query: CITIZEN_IDENTITY, variables: { id: citizen.idNumber } }, check: (data) => checkCitizen(data, 'citizen', citizen) };
    },
  },
  {
    id: 'E',
    title: "A's query for repeated citizens (Zipf), cache off, in process, and in Redis",
    serviceItem: '330100-ZJ-0001',
    caseNumber: 'BENCH-E-000001',
    targets: ['proofless', 'proofless-cache', 'proofless-redis'],
    reference: 'proofless',
    whyNoBaseline: 'it measures the department-answer cache: the reference is the same Proofless gateway with the cache off',
    isCacheMeasured: true,
    next(citizens) {
      const citizen = citizens.pickRepeated();
      return { body: { query: CITIZEN_FACTS, variables: { id: citizen.idNumber } }, check: (data) => checkCitizen(data, 'citizen', citizen) };
    },
  },
];

interface CitizenAnswer {
  idNumber?: unknown;
  identity?: { name?: unknown } | null;
}

function checkCitizen(data: unknown, field: string, expected: KnownCitizen): string | null {
  const citizen = (data as Record<string, CitizenAnswer | null> | null)?.[field];
  return citizenProblem(citizen, expected);
}

function citizenProblem(citizen: CitizenAnswer | null | undefined, expected: KnownCitizen): string | null {
  if (!citizen) return `no citizen for ${expected.idNumber}`;
  if (citizen.idNumber !== expected.idNumber) return `asked for ${expected.idNumber}, got ${String(citizen.idNumber)}`;
  if (citizen.identity?.name !== expected.name) return `${expected.idNumber} is ${expected.name} in the registry, the answer says ${String(citizen.identity?.name)}`;
  return null;
}

function checkCitizenList(data: unknown, asked: KnownCitizen[]): string | null {
  const list = (data as { citizens?: (CitizenAnswer | null)[] } | null)?.citizens;
  if (!Array.isArray(list) || list.length !== asked.length) return `asked for ${asked.length} citizens, got ${Array.isArray(list) ? list.length : 'no list'}`;
  for (const [i, citizen] of list.entries()) {
    const problem = citizenProblem(citizen, asked[i]);
    if (problem) return `citizens[${i}]: ${problem}`;
  }
  return null;
}

interface ChecklistAnswer {
  name?: unknown;
  proofs?: { code?: unknown; status?: unknown; facts?: { identity?: { name?: unknown } } }[];
}

/** 个体工商户设立登记: identity (SFZM) and existing licences (ZZQK) are always shared; the premises proof is a commitment. */
function checkChecklist(data: unknown, applicant: KnownCitizen): string | null {
  const checklist = (data as { proofChecklist?: ChecklistAnswer } | null)?.proofChecklist;
  if (checklist?.name !== '个体工商户设立登记') return `expected the checklist of ${SOLE_PROPRIETOR_ITEM}, got ${String(checklist?.name)}`;
  const proof = (code: string) => checklist.proofs?.find((p) => p.code === code);
  const identity = proof('SFZM');
  if (identity?.status !== 'SATISFIED') return `SFZM for ${applicant.idNumber} is ${String(identity?.status)}, expected SATISFIED`;
  if (identity.facts?.identity?.name !== applicant.name) return `SFZM names ${String(identity.facts?.identity?.name)}, the registry ${applicant.name}`;
  if (proof('ZZQK')?.status !== 'SATISFIED') return `ZZQK for ${applicant.idNumber} is ${String(proof('ZZQK')?.status)}, expected SATISFIED`;
  return null;
}
