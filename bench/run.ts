import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadSupergraph } from '../gateway/supergraph';
import { loadCatalog } from '../lib/catalog';
import { SUPERGRAPH_FILE } from '../lib/composition';
import { REPO_ROOT } from '../lib/paths';
import { ensureSeeded, seedingOf } from '../synthetic/seed';
import { drawCitizenPool, type CitizenPool } from './citizens';
import { checkFetchCount, type FetchCountCheck } from './fetch-count';
import { cacheBetween, latencyBetween, readMetrics } from './gateway-metrics';
import { combineRounds, driveLoad, type LoadOptions, type LoadResult } from './load';
import { formatProfileSummary, summariseProfile, type CpuProfile, type ProfileWindow } from './profile-summary';
import { formatDepartmentConnections, formatFetchCheck, formatLatency, formatMeasurements, ratiosOf, RESULTS_DIR, targetLabel, writeResults, type Measurement } from './report';
import { summariseRss } from './rss';
import { SCENARIOS, type Scenario } from './scenarios';
import { createBenchSecrets, type BenchSecrets } from './secrets';
import { BENCH_CONCURRENT_PER_OFFICER, BENCH_RATE_LIMIT, PROOFLESS_GATEWAYS, startStack, type Stack, type StackOptions, type TargetName } from './stack';

/**
 * `npm run bench -- [--quick] [--scale | --soak | --profile] [--scenario ID]`
 *
 *   (none)       every scenario against every target it lists, the targets in turns (three rounds): bench/results/latest.json
 *   --scale      (A) and (C) against Proofless at 10,000 and at 1,000,000 citizens: scale.json
 *   --soak       (A) against Proofless for 5 minutes, sampling its RSS each second: soak.json
 *   --profile    (A) against Proofless started with --cpu-prof, at half the rate it serves flat out; where its CPU time and the household department's went: profile.json
 *   --scenario   another scenario than (A) for --soak or --profile
 *   --quick      short runs, for developing the harness (under a minute without --scale)
 *
 * Figures are for comparing with each other within one run: the machine is shared, and
 * each row says how much CPU others used while it ran.
 */

const USAGE = 'usage: npm run bench -- [--quick] [--scale | --soak | --profile] [--scenario ID]';

interface Timing {
  warmupSeconds: number;
  seconds: number;
  /**
   * The standard run measures a scenario's targets in turns, this many times each, for
   * `seconds` in all: three full runs measured in one go had A's ratio to plain at 1.58,
   * 1.40 and 1.26, as a slower minute of the machine fell on one target and not the other.
   */
  rounds: number;
}

const FULL: Timing = { warmupSeconds: 5, seconds: 18, rounds: 3 };
const QUICK: Timing = { warmupSeconds: 1, seconds: 3, rounds: 1 };
const SOAK_SECONDS = { full: 300, quick: 30 };
/** Concurrent keep-alive connections, each with one request in flight. */
const CONNECTIONS = 10;
const CITIZENS = 10_000;
const SCALE_CITIZENS = 1_000_000;
/** Citizens requests are drawn from, uniformly over the registry (all of them at 10,000). */
const POOL_SIZE = 50_000;
const FETCH_CHECK_OPERATIONS = { full: 20, quick: 5 };
const RSS_INTERVAL_MS = { load: 250, soak: 1000 };
/**
 * A soak's growth compares the mean RSS over its first and its last fifth (a minute each
 * in a full soak): RSS saws up and down by a hundred megabytes between collections, so a
 * few samples at each end would measure where the saw happened to be.
 */
const SOAK_EDGE_FRACTION = 0.2;
const OFFICER = 'bench-officer-01';
const SOCKET_WRITES_NOTE = 'writev and other socket calls include the time the kernel ran the department they woke on the gateway\'s core ' +
  '(on-CPU samples from `perf record` put socket writes at 7% of the gateway\'s CPU in (A), where this profile shows about a fifth)';

/** The department profiled beside the gateway: every scenario calls it. */
const PROFILED_DEPARTMENT = 'household';

/** The profile run's rate, as a share of what the warm-up got flat out (profileRun says why). */
const PROFILE_LOAD = 0.5;

/** What the Proofless gateway runs with, as the results record it. */
const PROOFLESS_SETTINGS = {
  nodeEnv: 'production',
  authentication: 'RS256 JWT verified against a public key file (PROOFLESS_JWT_PUBLIC_KEY_FILE)',
  purpose: 'X-Service-Item and X-Case-Number checked against the token and the proof catalog',
  operationLimits: 'defaults',
  auditLog: 'SQLite in the run folder, hash chain, signed checkpoints, group commit defaults',
  rateLimits: `in process, ${BENCH_RATE_LIMIT} per application and per officer per minute and distinct citizens per hour (the maximum, raised so they never refuse the benchmark)`,
  concurrentRequestsPerOfficer: `${BENCH_CONCURRENT_PER_OFFICER} (the maximum: the benchmark's one officer stands for every window)`,
  trustedOperations: 'off (the service bureau sends generated documents no manifest lists)',
  departments: 'as in production: HTTPS only, mutual TLS 1.3 with this run\'s own CA (client certificate naming the gateway), every request signed by the gateway (RFC 9421 Ed25519, RFC 9530 Content-Digest, nonces remembered against replay) and checked against the proof catalog by the department itself',
  gateways: PROOFLESS_GATEWAYS,
};

const BASELINE_SETTINGS = '@apollo/gateway 2.14.4 with defaults (make-fetch-happen, plain HTTP, no signatures), Apollo Server standalone, NODE_ENV=production, APOLLO_TELEMETRY_DISABLED=true, ' +
  'over its own departments: the same code and registries without the guard (bench/plain-department.ts)';

type Mode = 'standard' | 'scale' | 'soak' | 'profile';

interface RunArguments {
  mode: Mode;
  isQuick: boolean;
  /** The scenario --soak and --profile drive. */
  scenario: Scenario;
}

function parseArguments(args: string[]): RunArguments {
  let values: Partial<Record<'quick' | 'scale' | 'soak' | 'profile', boolean> & { scenario: string }>;
  try {
    ({ values } = parseArgs({
      args,
      options: { quick: { type: 'boolean' }, scale: { type: 'boolean' }, soak: { type: 'boolean' }, profile: { type: 'boolean' }, scenario: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const modes = (['scale', 'soak', 'profile'] as const).filter((mode) => values[mode]);
  if (modes.length > 1) throw new UsageError(`choose one of --scale, --soak and --profile, got ${modes.map((m) => `--${m}`).join(' ')}\n${USAGE}`);
  const mode = modes[0] ?? 'standard';
  if (values.scenario !== undefined && mode !== 'soak' && mode !== 'profile') throw new UsageError(`--scenario goes with --soak or --profile\n${USAGE}`);
  const scenario = SCENARIOS.find((s) => s.id === (values.scenario ?? 'A'));
  if (!scenario) throw new UsageError(`--scenario must be one of ${SCENARIOS.map((s) => s.id).join(', ')}, got "${values.scenario}"`);
  return { mode, isQuick: values.quick === true, scenario };
}

class UsageError extends Error {}

/** The seeded registries for `citizens`, kept under data/bench/ between runs (seeding 1,000,000 takes about a minute). */
function seededRegistry(citizens: number): string {
  const dir = path.join(REPO_ROOT, 'data', 'bench', `citizens-${citizens}`);
  if (seedingOf(dir)?.citizens !== citizens) console.log(`seeding ${citizens} citizens into ${dir} (first run at this size only)...`);
  const started = performance.now();
  if (ensureSeeded(dir, { citizens })) console.log(`  seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return dir;
}

/** Starts a stack with fresh secrets in a fresh run folder, hands it over, and stops and removes everything afterwards. */
async function withStack<T>(registryDir: string, options: Pick<StackOptions, 'gateways' | 'gatewayNodeFlags' | 'departmentNodeFlags'>, use: (stack: Stack, secrets: BenchSecrets) => Promise<T>): Promise<T> {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-bench-'));
  let stack: Stack | undefined;
  try {
    const secrets = await createBenchSecrets(runDir, [...loadCatalog().items.keys()]);
    const started = performance.now();
    stack = await startStack({ registryDir, runDir, secrets, ...options });
    console.log(`stack started in ${((performance.now() - started) / 1000).toFixed(1)} s (departments, ${options.gateways.map(targetLabel).join(', ')})`);
    return await use(stack, secrets);
  } finally {
    await stack?.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** The same headers for every target: a token granted the scenario's service item, and its purpose. */
async function purposeHeaders(secrets: BenchSecrets, scenario: Scenario): Promise<Record<string, string>> {
  return {
    authorization: `Bearer ${await secrets.serviceToken([scenario.serviceItem], OFFICER)}`,
    'x-service-item': scenario.serviceItem,
    'x-case-number': scenario.caseNumber,
  };
}

/** The gateways (not departments) the scenarios drive, each once. */
function gatewaysOf(scenarios: readonly Scenario[]): TargetName[] {
  return [...new Set(scenarios.flatMap((scenario) => scenario.targets))].filter((target) => target === 'plain' || target in PROOFLESS_GATEWAYS);
}

/** Drives `target` for `seconds`, flat out; its figures are not reported, but the rate is there for the profile run. */
async function warmUp(stack: Stack, scenario: Scenario, target: TargetName, citizens: CitizenPool, headers: Record<string, string>, seconds: number): Promise<LoadResult> {
  const next = () => scenario.next(citizens);
  return driveLoad({ url: stack.url(target), headers, connections: CONNECTIONS, warmupSeconds: 0, seconds, next, pid: stack.pid(target), departmentPids: [], rssIntervalMs: RSS_INTERVAL_MS.load, benchPids: [] });
}

interface MeasureOptions {
  /** Default RSS_INTERVAL_MS.load. */
  rssIntervalMs?: number;
  /** Which round this is, as `2/3`, when the targets are measured in turns. */
  round?: string;
  /** Default the standard CONNECTIONS. */
  connections?: number;
}

async function measure(stack: Stack, scenario: Scenario, target: TargetName, citizens: CitizenPool, headers: Record<string, string>, timing: Pick<LoadOptions, 'warmupSeconds' | 'seconds' | 'requestsPerSecond'>, options: MeasureOptions = {}): Promise<Measurement> {
  const { rssIntervalMs = RSS_INTERVAL_MS.load, round, connections = CONNECTIONS } = options;
  process.stdout.write(`(${scenario.id}) ${targetLabel(target)}${connections === CONNECTIONS ? '' : `, ${connections} connections`}${round ? `, round ${round}` : ''}: `);
  const loadAverageAtStart = os.loadavg()[0];
  const connectionsBefore = await stack.departmentConnections(target);
  const result = await driveLoad({
    url: stack.url(target),
    headers,
    connections,
    ...timing,
    next: () => scenario.next(citizens),
    pid: stack.pid(target),
    departmentPids: stack.departmentPids(target),
    rssIntervalMs,
    benchPids: [process.pid, ...stack.pids()],
  });
  const departmentConnections = (await stack.departmentConnections(target)) - connectionsBefore;
  console.log(`${result.requestsPerSecond} req/s, p99 ${result.latencyMs.p99} ms, ${result.errors.total} errors${result.errors.examples.length ? ` (${result.errors.examples[0]})` : ''}`);
  return { scenario: scenario.id, title: scenario.title, target, connections, citizensInRegistry: citizens.registrySize, loadAverageAtStart, result, departmentConnections, ratios: null };
}

function machine() {
  return { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadAverage: os.loadavg() };
}

const LEGEND = '× columns: the figure divided by the reference\'s; CPU ms/req: CPU time per request of the target\'s process, and of the department processes it called ' +
  '(Proofless: the guarded departments; the plain gateway: its own unguarded ones; a department called directly: none) ' +
  '(less affected by others\' load than req/s, though a less busy process spends more per request waking up); others CPU %: share of all cores used by processes outside the benchmark during the row; ' +
  '"direct (unguarded)": the baseline\'s department, as a guarded one takes only requests the gateway signed, each with a nonce of its own that a load generator repeating requests cannot give';

async function standardRun(timing: Timing, { isQuick }: RunArguments): Promise<void> {
  const startedAt = new Date().toISOString();
  const machineAtStart = machine();
  const registryDir = seededRegistry(CITIZENS);
  const citizens = drawCitizenPool(registryDir, POOL_SIZE);
  const { gatewaySdl } = loadSupergraph(SUPERGRAPH_FILE);
  const { measurements, fetchChecks } = await withStack(registryDir, { gateways: gatewaysOf(SCENARIOS) }, async (stack, secrets) => {
    const measurements: Measurement[] = [];
    const fetchChecks: FetchCountCheck[] = [];
    for (const scenario of SCENARIOS) {
      const headers = await purposeHeaders(secrets, scenario);
      // Every target warms up before any is measured: the departments warm up with the first, which would favour the ones after it.
      for (const target of scenario.targets) await warmUp(stack, scenario, target, citizens, headers, timing.warmupSeconds);
      for (const connections of [CONNECTIONS, ...(scenario.higherLoads ?? [])]) {
        measurements.push(...await measureInTurns(stack, scenario, citizens, headers, timing, connections));
      }
      if (!scenario.isFetchCountChecked) continue;
      for (const target of gatewaysOf([scenario])) {
        fetchChecks.push(await checkFetchCount({ stack, target, scenario, citizens, headers, gatewaySdl, operations: FETCH_CHECK_OPERATIONS[isQuick ? 'quick' : 'full'] }));
      }
    }
    return { measurements, fetchChecks };
  });

  console.log(`\n${formatMeasurements(measurements)}\n${LEGEND}; reference: the plain gateway in the same scenario, unless the scenario names another`);
  for (const scenario of SCENARIOS) {
    console.log(`(${scenario.id}) ${scenario.title}${scenario.whyNoBaseline ? `; no baseline: ${scenario.whyNoBaseline}` : ''}`);
  }
  for (const row of measurements.filter((measurement) => measurement.roundRatios && measurement.ratios?.requestsPerSecond !== 1)) {
    console.log(`(${row.scenario}) ${targetLabel(row.target)}, ${row.connections} connections: × reference req/s round by round ${row.roundRatios?.map((ratio) => ratio.toFixed(2)).join(', ')}`);
  }
  for (const line of measurements.map(formatLatency)) if (line) console.log(line);
  for (const line of measurements.map(formatDepartmentConnections)) if (line) console.log(line);
  for (const row of measurements.filter((measurement) => measurement.cache)) {
    const { hits, misses, hitRatio } = row.cache as NonNullable<Measurement['cache']>;
    console.log(`(${row.scenario}) ${targetLabel(row.target)}: cache hit ratio ${(hitRatio * 100).toFixed(1)}% (${hits} hits, ${misses} misses), ×${row.ratios?.requestsPerSecond ?? '?'} req/s over the cache off`);
  }
  for (const check of fetchChecks) console.log(formatFetchCheck(check));
  const file = writeResults('latest', {
    kind: 'standard',
    isQuick,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { atStart: machineAtStart, atEnd: machine() },
    settings: { connections: CONNECTIONS, ...timing, citizens: citizens.registrySize, proofless: PROOFLESS_SETTINGS, baseline: BASELINE_SETTINGS },
    ratiosTo: 'the plain gateway in the same scenario, or the scenario\'s reference target',
    scenarios: SCENARIOS.map(({ id, title, serviceItem, targets, whyNoBaseline }) => ({ id, title, serviceItem, targets, whyNoBaseline })),
    measurements,
    fetchChecks,
  });
  console.log(`written to ${path.relative(process.cwd(), file)}`);
}

/**
 * A scenario's targets at one load, measured in turns (`timing.rounds` rounds each), one
 * row per target combining its rounds, with ratios to the scenario's reference at the
 * same load.
 */
async function measureInTurns(stack: Stack, scenario: Scenario, citizens: CitizenPool, headers: Record<string, string>, timing: Timing, connections: number): Promise<Measurement[]> {
  // Each Proofless gateway's own metrics around its rounds: the other targets' rounds do not reach it.
  const gateways = scenario.targets.filter((target) => target in PROOFLESS_GATEWAYS);
  const metricsBefore = new Map(await Promise.all(gateways.map(async (target) => [target, await readMetrics(stack.url(target))] as const)));
  const secondsPerRound = timing.seconds / timing.rounds;
  const rounds = new Map<TargetName, Measurement[]>(scenario.targets.map((target) => [target, []]));
  for (let round = 1; round <= timing.rounds; round += 1) {
    for (const target of scenario.targets) {
      const label = timing.rounds > 1 ? `${round}/${timing.rounds}` : undefined;
      (rounds.get(target) as Measurement[]).push(await measure(stack, scenario, target, citizens, headers, { warmupSeconds: 0, seconds: secondsPerRound }, { round: label, connections }));
    }
  }
  const rows: Measurement[] = [];
  for (const target of scenario.targets) {
    const measured = rounds.get(target) as Measurement[];
    const departmentConnections = measured.reduce((sum, m) => sum + (m.departmentConnections ?? 0), 0);
    const row: Measurement = { ...measured[0], result: combineRounds(measured.map((m) => m.result), secondsPerRound), departmentConnections };
    if (measured.length > 1) row.rounds = measured.map((m) => ({ requestsPerSecond: m.result.requestsPerSecond, p50: m.result.latencyMs.p50, p99: m.result.latencyMs.p99 }));
    const before = metricsBefore.get(target);
    if (before) {
      const after = await readMetrics(stack.url(target));
      row.latency = latencyBetween(before, after);
      if (scenario.isCacheMeasured) row.cache = cacheBetween(before, after);
    }
    rows.push(row);
  }
  const baseline = rows.find((row) => row.target === (scenario.reference ?? 'plain'));
  for (const row of rows) {
    row.ratios = baseline ? ratiosOf(row.result, baseline.result) : null;
    if (baseline?.rounds && row.rounds) {
      const reference = baseline.rounds;
      row.roundRatios = row.rounds.map((round, i) => Math.round((round.requestsPerSecond / reference[i].requestsPerSecond) * 100) / 100);
    }
  }
  return rows;
}

async function scaleRun(timing: Timing, { isQuick }: RunArguments): Promise<void> {
  const startedAt = new Date().toISOString();
  const scenarios = SCENARIOS.filter((scenario) => scenario.id === 'A' || scenario.id === 'C');
  const measurements: Measurement[] = [];
  for (const size of [CITIZENS, SCALE_CITIZENS]) {
    const registryDir = seededRegistry(size);
    const citizens = drawCitizenPool(registryDir, POOL_SIZE);
    await withStack(registryDir, { gateways: ['proofless'] }, async (stack, secrets) => {
      for (const scenario of scenarios) measurements.push(await measure(stack, scenario, 'proofless', citizens, await purposeHeaders(secrets, scenario), timing));
    });
  }
  for (const row of measurements) {
    const reference = measurements.find((other) => other.scenario === row.scenario && other.citizensInRegistry === CITIZENS);
    row.ratios = reference ? ratiosOf(row.result, reference.result) : null;
  }
  console.log(`\n${formatMeasurements(measurements, true)}\n${LEGEND}; reference: the same scenario at ${CITIZENS} citizens`);
  const file = writeResults('scale', {
    kind: 'scale',
    isQuick,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machine(),
    settings: { connections: CONNECTIONS, ...timing, poolSize: POOL_SIZE, proofless: PROOFLESS_SETTINGS },
    ratiosTo: `the same scenario at ${CITIZENS} citizens`,
    measurements,
  });
  console.log(`written to ${path.relative(process.cwd(), file)}`);
}

async function soakRun(timing: Timing, { isQuick, scenario }: RunArguments): Promise<void> {
  const startedAt = new Date().toISOString();
  const registryDir = seededRegistry(CITIZENS);
  const citizens = drawCitizenPool(registryDir, POOL_SIZE);
  const soak = { warmupSeconds: timing.warmupSeconds, seconds: SOAK_SECONDS[isQuick ? 'quick' : 'full'] };
  console.log(`soak: (${scenario.id}) against Proofless for ${soak.seconds} s`);
  const measurement = await withStack(registryDir, { gateways: ['proofless'] }, async (stack, secrets) =>
    measure(stack, scenario, 'proofless', citizens, await purposeHeaders(secrets, scenario), soak, { rssIntervalMs: RSS_INTERVAL_MS.soak }));
  const samples = measurement.result.rss.samplesMb;
  const edge = Math.max(1, Math.round(samples.length * SOAK_EDGE_FRACTION));
  const start = rssWindow(samples.slice(0, edge));
  const end = rssWindow(samples.slice(-edge));
  const growthPercent = Math.round(((end.meanMb - start.meanMb) / start.meanMb) * 1000) / 10;
  console.log(`\n${formatMeasurements([measurement])}`);
  console.log(`gateway RSS over the first ${edge} s: mean ${start.meanMb} MB (${start.minMb}-${start.maxMb}); over the last ${edge} s: mean ${end.meanMb} MB (${end.minMb}-${end.maxMb}); peak ${measurement.result.rss.peakMb} MB; growth ${growthPercent}%`);
  const file = writeResults('soak', {
    kind: 'soak',
    isQuick,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machine(),
    settings: { connections: CONNECTIONS, ...soak, citizens: citizens.registrySize, proofless: PROOFLESS_SETTINGS },
    rss: { start, end, peakMb: measurement.result.rss.peakMb, growthPercent },
    measurement,
  });
  console.log(`written to ${path.relative(process.cwd(), file)}`);
}

/**
 * The gateway under a scenario, (A) unless told, with V8's sampling profiler on. The profile covers the whole
 * process, start-up included, so only samples taken during the measured run are summarised
 * (V8 stamps samples with the monotonic clock process.hrtime reads).
 *
 * The measured run sends half the requests per second the warm-up got flat out. V8 samples
 * on a wall clock: on two cores shared with the departments and the load generator, a
 * saturated gateway is often ready to run but waiting for a core, and the sample lands on
 * whatever it runs next. At half the rate a core is usually free.
 *
 * One wait remains in the samples, at any rate: a socket write that wakes a department
 * lets the kernel run the department on the writer's core at once (a wake-up between
 * loopback sockets favours the waker's core), and the gateway's sample lands in the
 * write. In (A) this profile puts about a fifth of the gateway in `writev`; `perf record`
 * (on-CPU samples only) put the system calls of socket writes at 7% of the gateway's CPU.
 * SOCKET_WRITES_NOTE says so under the summary.
 *
 * The household department, which every scenario calls, is profiled over the same
 * stretch: what its guard (TLS, the signature check, its purpose check) costs shows there.
 */
async function profileRun(timing: Timing, { isQuick, scenario }: RunArguments): Promise<void> {
  const startedAt = new Date().toISOString();
  const registryDir = seededRegistry(CITIZENS);
  const citizens = drawCitizenPool(registryDir, POOL_SIZE);
  const profileDir = path.join(RESULTS_DIR, 'profiles');
  mkdirSync(profileDir, { recursive: true });
  const profileName = `gateway-${scenario.id}-${startedAt.replace(/[:.]/g, '-')}.cpuprofile`;
  const nodeFlags = ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileName}`];
  const departmentProfileName = profileName.replace(/^gateway-/, `${PROFILED_DEPARTMENT}-`);
  const departmentNodeFlags = (name: string) => (name === PROFILED_DEPARTMENT ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${departmentProfileName}`] : []);
  const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);
  let window: ProfileWindow | undefined;
  let profiledRate: number | undefined;
  const measurement = await withStack(registryDir, { gateways: ['proofless'], gatewayNodeFlags: nodeFlags, departmentNodeFlags }, async (stack, secrets) => {
    const headers = await purposeHeaders(secrets, scenario);
    const flatOut = await warmUp(stack, scenario, 'proofless', citizens, headers, timing.warmupSeconds);
    const requestsPerSecond = Math.max(1, Math.round(flatOut.requestsPerSecond * PROFILE_LOAD));
    profiledRate = requestsPerSecond;
    console.log(`warm-up flat out: ${flatOut.requestsPerSecond} req/s; profiling at ${requestsPerSecond} req/s`);
    const fromMicros = monotonicMicros();
    const measured = await measure(stack, scenario, 'proofless', citizens, headers, { warmupSeconds: 0, seconds: timing.seconds, requestsPerSecond });
    window = { fromMicros, toMicros: monotonicMicros() };
    return measured;
  });
  // The gateway and the department write their profiles as they exit, which withStack has waited for.
  const profileFile = path.join(profileDir, profileName);
  const summary = summariseProfile(JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile, 15, window);
  const departmentProfileFile = path.join(profileDir, departmentProfileName);
  const departmentSummary = summariseProfile(JSON.parse(readFileSync(departmentProfileFile, 'utf8')) as CpuProfile, 15, window);
  console.log(`\n${formatMeasurements([measurement])}\n(figures under the profiler: not comparable with a plain run)\n`);
  console.log(`the gateway: ${formatProfileSummary(summary)}`);
  console.log(SOCKET_WRITES_NOTE);
  console.log(`\nthe ${PROFILED_DEPARTMENT} department: ${formatProfileSummary(departmentSummary)}`);
  const file = writeResults('profile', {
    kind: 'profile',
    isQuick,
    startedAt,
    machine: machine(),
    settings: { connections: CONNECTIONS, ...timing, requestsPerSecond: profiledRate, citizens: citizens.registrySize, proofless: PROOFLESS_SETTINGS },
    profileFile: path.relative(REPO_ROOT, profileFile),
    departmentProfileFile: path.relative(REPO_ROOT, departmentProfileFile),
    // For summarising the same stretch again with summariseProfile (bench/profile-summary.ts).
    window,
    measurement,
    summary,
    departmentSummary,
  });
  console.log(`written to ${path.relative(process.cwd(), file)}; the whole profiles (open them in Chrome DevTools) are ${path.relative(process.cwd(), profileFile)} and ${path.relative(process.cwd(), departmentProfileFile)}`);
}

/** Mean, lowest and highest of RSS samples, in MB. */
function rssWindow(samplesMb: number[]): { meanMb: number; minMb: number; maxMb: number } {
  const { meanMb, peakMb } = summariseRss(samplesMb);
  return { meanMb, minMb: Math.min(...samplesMb), maxMb: peakMb };
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const runs: Record<Mode, (timing: Timing, args: RunArguments) => Promise<void>> = { standard: standardRun, scale: scaleRun, soak: soakRun, profile: profileRun };
  await runs[args.mode](args.isQuick ? QUICK : FULL, args);
}

main().catch((error: Error) => {
  console.error(`bench: ${error.message}`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
