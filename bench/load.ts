import { StringDecoder } from 'node:string_decoder';
import autocannon from 'autocannon';
import { cpuMillisBetween, cpuSnapshot, machineLoadBetween, type MachineLoad } from './machine-load';
import { sampleRss, summariseRss, type RssSummary } from './rss';
import type { ScenarioRequest } from './scenarios';

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** A fixed rate over all connections; absent: each connection sends its next request as soon as it has the answer. */
  requestsPerSecond?: number;
  /** Builds each request and the check its answer must pass. */
  next: () => ScenarioRequest;
  /** The process serving the target: its RSS is sampled and its CPU time counted during the measured run. */
  pid: number;
  /** The departments' processes besides the target: their CPU time is counted too. */
  departmentPids: number[];
  rssIntervalMs: number;
  /** The benchmark's own processes, whose CPU time is not counted as others' load. */
  benchPids: number[];
}

export interface ErrorCounts {
  /** Connection errors and timeouts. */
  transport: number;
  non2xx: number;
  /** 2xx answers carrying `errors`. */
  graphql: number;
  /** 2xx answers without `errors` whose data is not the right answer. */
  wrongAnswers: number;
  total: number;
  /** The first few problems, word for word, to see what went wrong. */
  examples: string[];
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; mean: number };
  errors: ErrorCounts;
  rss: RssSummary;
  /** CPU milliseconds per answered request: the target's process, and the departments' besides it. */
  cpuMsPerRequest: { target: number; departments: number };
  machine: MachineLoad;
}

const MAX_EXAMPLES = 3;

/** Drives one target: a warm-up whose figures are dropped, then the measured run, checking every answer and sampling RSS. */
export async function driveLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.warmupSeconds > 0) await run(options, options.warmupSeconds, newErrorCounts());
  const errors = newErrorCounts();
  const sampler = sampleRss(options.pid, options.rssIntervalMs);
  const watched = [...new Set([...options.benchPids, options.pid, ...options.departmentPids])];
  const before = cpuSnapshot(watched);
  let result;
  try {
    result = await run(options, options.seconds, errors);
  } catch (error) {
    sampler.stop();
    throw error;
  }
  const rss = sampler.stop();
  const after = cpuSnapshot(watched);
  const machine = machineLoadBetween(before, after);
  const requests = result['2xx'] + result.non2xx;
  const perRequest = (pids: number[]) => (requests > 0 ? Math.round((cpuMillisBetween(before, after, pids) / requests) * 100) / 100 : Number.NaN);
  errors.transport = result.errors + result.timeouts;
  errors.non2xx = result.non2xx;
  errors.total = errors.transport + errors.non2xx + errors.graphql + errors.wrongAnswers;
  return {
    requests,
    requestsPerSecond: Math.round(result.requests.average),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, mean: Math.round(result.latency.mean * 100) / 100 },
    errors,
    rss,
    cpuMsPerRequest: { target: perRequest([options.pid]), departments: perRequest(options.departmentPids) },
    machine,
  };
}

function newErrorCounts(): ErrorCounts {
  return { transport: 0, non2xx: 0, graphql: 0, wrongAnswers: 0, total: 0, examples: [] };
}

function run(options: LoadOptions, seconds: number, errors: ErrorCounts) {
  const note = (problem: string) => {
    if (errors.examples.length < MAX_EXAMPLES) errors.examples.push(problem);
  };
  return autocannon({
    url: options.url,
    connections: options.connections,
    duration: seconds,
    // One request in flight per connection: the context a request is built with is the one its answer is checked against.
    pipelining: 1,
    overallRate: options.requestsPerSecond,
    method: 'POST',
    headers: { ...options.headers, 'content-type': 'application/json' },
    setupClient: decodeBodiesWhole,
    requests: [{
      setupRequest(request, context) {
        const { body, check } = options.next();
        context.check = check;
        return { ...request, body: JSON.stringify(body) };
      },
      onResponse(status, body, context) {
        if (status < 200 || status > 299) {
          note(`HTTP ${status}: ${body.slice(0, 300)}`);
          return;
        }
        let answer: { data?: unknown; errors?: { message?: string }[] };
        try {
          answer = JSON.parse(body);
        } catch {
          errors.wrongAnswers += 1;
          note(`unreadable JSON: ${body.slice(0, 300)}`);
          return;
        }
        if (answer.errors?.length) {
          errors.graphql += 1;
          note(`errors: ${JSON.stringify(answer.errors).slice(0, 300)}`);
          return;
        }
        const problem = (context.check as ScenarioRequest['check'])(answer.data);
        if (problem) {
          errors.wrongAnswers += 1;
          note(`wrong answer: ${problem}`);
        }
      },
    }],
  });
}

/**
 * autocannon 9 builds each response body with `body += chunk`, decoding every chunk on its
 * own, so a multi-byte character (every Chinese name) split across two chunks arrives as
 * U+FFFD and a right answer would count as wrong. Decoding through one StringDecoder per
 * response keeps split characters whole.
 */
function decodeBodiesWhole(client: autocannon.Client): void {
  const queue = client.pipelinedRequests;
  queue.addBody = (data: Buffer) => {
    const pending = queue.peek();
    if (!pending) return;
    pending.decoder ??= new StringDecoder('utf8');
    pending.body += (pending.decoder as StringDecoder).write(data);
  };
}

/**
 * One target's rounds of a scenario as one result. The standard run measures the targets
 * of a scenario in turns (plain, Proofless, plain, Proofless...), so a stretch of the
 * machine being slower falls on every target, not on whichever ran then. Requests/s is
 * over the rounds' whole time; p50 and p99 are the median round's (percentiles of
 * different runs do not add up); CPU per request is over all the rounds' requests; RSS
 * is over all samples, its peak the highest.
 */
export function combineRounds(rounds: readonly LoadResult[], secondsPerRound: number): LoadResult {
  if (rounds.length === 0) throw new Error('no rounds to combine');
  if (rounds.length === 1) return rounds[0];
  const requests = rounds.reduce((sum, round) => sum + round.requests, 0);
  const byRequests = (value: (round: LoadResult) => number) =>
    requests > 0 ? Math.round((rounds.reduce((sum, round) => sum + value(round) * round.requests, 0) / requests) * 100) / 100 : Number.NaN;
  const mean = (value: (round: LoadResult) => number) => Math.round((rounds.reduce((sum, round) => sum + value(round), 0) / rounds.length) * 10) / 10;
  const errors = newErrorCounts();
  for (const round of rounds) {
    for (const kind of ['transport', 'non2xx', 'graphql', 'wrongAnswers', 'total'] as const) errors[kind] += round.errors[kind];
    errors.examples.push(...round.errors.examples);
  }
  errors.examples = errors.examples.slice(0, MAX_EXAMPLES);
  return {
    requests,
    requestsPerSecond: Math.round(requests / (secondsPerRound * rounds.length)),
    latencyMs: { p50: median(rounds.map((round) => round.latencyMs.p50)), p99: median(rounds.map((round) => round.latencyMs.p99)), mean: byRequests((round) => round.latencyMs.mean) },
    errors,
    rss: summariseRss(rounds.flatMap((round) => round.rss.samplesMb)),
    cpuMsPerRequest: { target: byRequests((round) => round.cpuMsPerRequest.target), departments: byRequests((round) => round.cpuMsPerRequest.departments) },
    machine: { busyPercent: mean((round) => round.machine.busyPercent), othersPercent: mean((round) => round.machine.othersPercent) },
  };
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
