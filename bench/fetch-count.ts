import type { CitizenPool } from './citizens';
import { plannedFetches } from './plan-fetches';
import type { Scenario } from './scenarios';
import { PROOFLESS_GATEWAYS, type Stack, type TargetName } from './stack';

export interface FetchCountCheck {
  scenario: string;
  target: TargetName;
  operations: number;
  /** Operations whose answer was not right (they still count: a department was called either way). */
  failedOperations: number;
  /** What was wrong with the first few. */
  problems: string[];
  /** HTTP requests each department received, per operation. */
  requestsPerOperation: Record<string, number>;
  /** Fetches each department gets in the query plan. */
  plannedFetches: Record<string, number>;
  isEqual: boolean;
}

/**
 * Sends `operations` of the scenario's requests one after another through `target` (a
 * gateway: Proofless ones plan after their audit rewrite) with nothing else running, counts the HTTP requests each department receives,
 * and compares the count per operation with the query plan's fetches: a plan that batches
 * N citizens into one entity fetch per department must not turn into N requests.
 */
export async function checkFetchCount(options: {
  stack: Stack;
  target: TargetName;
  scenario: Scenario;
  citizens: CitizenPool;
  headers: Record<string, string>;
  gatewaySdl: string;
  operations: number;
}): Promise<FetchCountCheck> {
  const { stack, target, scenario, citizens, headers, operations } = options;
  const problems: string[] = [];
  let query = '';
  await quiescence(stack, target);
  await stack.departmentRequests(target, 'reset');
  for (let i = 0; i < operations; i += 1) {
    const { body, check } = scenario.next(citizens);
    query = body.query;
    const response = await fetch(stack.url(target), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await response.text();
    let problem: string | null;
    try {
      const answer = JSON.parse(text) as { data?: unknown; errors?: unknown[] };
      problem = !response.ok || answer.errors?.length ? `HTTP ${response.status}: ${text.slice(0, 300)}` : check(answer.data);
    } catch {
      problem = `HTTP ${response.status}, not JSON: ${text.slice(0, 300)}`;
    }
    if (problem) problems.push(problem);
  }
  const counted = await stack.departmentRequests(target, 'read');
  const planned = plannedFetches(options.gatewaySdl, query, target in PROOFLESS_GATEWAYS);
  const requestsPerOperation = Object.fromEntries(Object.entries(counted).filter(([, n]) => n > 0).map(([name, n]) => [name, n / operations]));
  const departments = new Set([...Object.keys(requestsPerOperation), ...Object.keys(planned)]);
  const isEqual = [...departments].every((name) => requestsPerOperation[name] === planned[name]);
  return { scenario: scenario.id, target, operations, failedOperations: problems.length, problems: problems.slice(0, 3), requestsPerOperation, plannedFetches: planned, isEqual };
}

const QUIET_POLL_MS = 500;
const QUIET_TIMEOUT_MS = 30_000;

/** Waits until no department of `target`'s has received a request for one poll interval: operations of a load run just ended may still be in flight. */
async function quiescence(stack: Stack, target: TargetName): Promise<void> {
  const deadline = Date.now() + QUIET_TIMEOUT_MS;
  let last = JSON.stringify(await stack.departmentRequests(target, 'read'));
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, QUIET_POLL_MS));
    const now = JSON.stringify(await stack.departmentRequests(target, 'read'));
    if (now === last) return;
    last = now;
  }
  throw new Error(`departments were still receiving requests ${QUIET_TIMEOUT_MS / 1000} s after the load stopped`);
}
