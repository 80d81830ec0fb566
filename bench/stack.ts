import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildForProduction, builtEntry } from '../lib/build';
import { listDepartments, SUPERGRAPH_FILE } from '../lib/composition';
import { REPO_ROOT } from '../lib/paths';
import { ensureDevelopmentPki } from '../lib/pki';
import { TLS_VARIABLE_NAMES } from '../lib/tls-files';
import { ensureDevelopmentDepartmentKey, ensureDevelopmentSigningKey } from '../lib/trust-list';
import type { DepartmentName } from '../subgraphs/shared/provenance';
import { GATEWAY_NODE_FLAGS } from '../gateway/config';
import { loadSupergraph } from '../gateway/supergraph';
import { registryFiles } from '../synthetic/seed';
import type { RequestCountAnswer, RequestCountQuery } from './request-counter';
import type { BenchSecrets } from './secrets';

/**
 * The processes a benchmark drives, each in its own process as they deploy, so the load
 * generator in the harness process never shares an event loop with what it measures:
 * every department over the seeded registries, guarded as in production (mutual TLS with
 * this run's own CA, the gateway's request signatures checked, their own purpose check),
 * the Proofless gateway with production settings, signing every department request; and
 * the plain @apollo/gateway baseline, which keeps plain HTTP and signs nothing as Apollo's
 * defaults do, over departments of its own: the same department code over the same
 * registries without the guard (bench/plain-department.ts).
 */

/** Rate limits high enough never to refuse the benchmark's one application and officer (the configuration's maximum). */
export const BENCH_RATE_LIMIT = 10_000_000;

/** Requests in flight per officer high enough never to refuse the benchmark's one officer, who stands for every window (the configuration's maximum). */
export const BENCH_CONCURRENT_PER_OFFICER = 100_000;

/**
 * The Proofless gateways a scenario can drive, by target name: each its own process, with
 * these settings on top of the production ones below. The department-answer cache is off
 * for `proofless`: the scenarios measure the gateway's own work on every request, where a
 * cache would make a figure depend on how often a uniformly drawn citizen happens to
 * repeat within a run. A scenario measuring the cache adds a gateway here with it on.
 */
export const PROOFLESS_GATEWAYS = {
  proofless: { PROOFLESS_CACHE: 'off' },
  // The cache scenario's: answers kept in this process (no Redis), and in the machine's Redis shared by instances.
  'proofless-cache': { PROOFLESS_CACHE: 'on' },
  'proofless-redis': { PROOFLESS_CACHE: 'on', PROOFLESS_REDIS_URL: 'redis://127.0.0.1:6379' },
} satisfies Record<string, NodeJS.ProcessEnv>;

/** A Proofless gateway, the plain @apollo/gateway baseline, or a department called directly. */
export type TargetName = keyof typeof PROOFLESS_GATEWAYS | 'plain' | DepartmentName;

export interface StackOptions {
  /** The seeded household, residence and license registries. */
  registryDir: string;
  /** This run's own folder: the audit log, the service bureau's commitments, the baseline's supergraph. */
  runDir: string;
  secrets: BenchSecrets;
  /**
   * The gateways to start (guarded departments always start): Proofless ones and `plain`.
   * The first Proofless one serves the service bureau's reads. With `plain` its unguarded
   * departments start too, and they are the ones a department target calls directly.
   */
  gateways: TargetName[];
  /** Extra node flags for the Proofless gateways (`--cpu-prof`). */
  gatewayNodeFlags?: string[];
  /** Extra node flags for each guarded department (`--cpu-prof` with a file name of its own). */
  departmentNodeFlags?: (name: DepartmentName) => string[];
}

export interface Stack {
  /**
   * Where `target` listens. A department target is the baseline's unguarded department:
   * a guarded one refuses any request without the gateway's signature, which carries a
   * nonce of its own and is refused when replayed, so a load generator sending one
   * request over and over cannot call it.
   */
  url(target: TargetName): string;
  /** The process serving `target`, whose RSS the report gives. */
  pid(target: TargetName): number;
  /** Every process of the stack. */
  pids(): number[];
  /** The processes of the departments `target` calls: the guarded ones for a Proofless gateway, the unguarded ones for `plain`, none for a department. */
  departmentPids(target: TargetName): number[];
  /** HTTP requests each department `target` calls has received since the last reset; `reset` starts the count again. */
  departmentRequests(target: TargetName, action: RequestCountQuery['benchRequestCount']): Promise<Record<string, number>>;
  /** Connections the departments `target` calls have accepted since they started, all together. */
  departmentConnections(target: TargetName): Promise<number>;
  stop(): Promise<void>;
}

/** Loaded into each department to count the HTTP requests it receives. */
const REQUEST_COUNTER = 'bench/request-counter.ts';
/** The baseline's departments' process (it says why they are its own). */
const PLAIN_DEPARTMENT = 'bench/plain-department.ts';

const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;
const COUNT_TIMEOUT_MS = 5_000;

interface Started {
  child: ChildProcess;
  url: string;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { secrets } = options;
  const gateways = new Map<TargetName, Started>();
  const guarded = new Map<DepartmentName, Started>();
  const plain = new Map<DepartmentName, Started>();
  const departments = listDepartments().map((entry) => entry.name as DepartmentName);
  // The gateways first, so the Proofless gateway drains and writes its last audit records while its departments still answer.
  const stop = async () => {
    const stopEach = (running: Iterable<Started>) => Promise.all([...running].map((s) => stopChild(s.child)));
    await stopEach(gateways.values());
    await stopEach([...guarded.values(), ...plain.values()]);
  };
  try {
    // This run's federation CA, a certificate for the gateway and each department, and the gateway's request-signing key in the departments' trust list, as `npm start` makes them.
    const pkiDir = path.join(options.runDir, 'pki');
    await ensureDevelopmentPki(pkiDir, ['gateway', ...departments]);
    const signing = ensureDevelopmentSigningKey(pkiDir);
    for (const department of departments) ensureDevelopmentDepartmentKey(pkiDir, department);
    const tlsEnv = (name: string): NodeJS.ProcessEnv => ({
      [TLS_VARIABLE_NAMES.ca]: path.join(pkiDir, 'ca.pem'),
      [TLS_VARIABLE_NAMES.cert]: path.join(pkiDir, `${name}.pem`),
      [TLS_VARIABLE_NAMES.key]: path.join(pkiDir, `${name}-key.pem`),
    });
    const base = inheritedEnv();
    const departmentEnv = (name: DepartmentName): NodeJS.ProcessEnv => ({
      ...base,
      ...tlsEnv(name),
      PROOFLESS_GATEWAY_KEYS_FILE: signing.trustListFile,
      // Each guarded department keeps its access log, as in production, in this run's folder (not the seeded registries'), and signs receipts with its key.
      PROOFLESS_DEPARTMENT_KEY_FILE: path.join(pkiDir, `${name}-signing-key.pem`),
      PROOFLESS_ACCESS_LOG_DIR: path.join(options.runDir, 'access-log'),
      [`PROOFLESS_${name.toUpperCase()}_PORT`]: '0',
      // Registries are read from the seeded folder; what departments write (commitments, the audit log) goes to this run's folder.
      PROOFLESS_DATA_DIR: name in registryFiles(options.registryDir) ? options.registryDir : options.runDir,
      PROOFLESS_AUDIT_KEY_FILE: secrets.auditKeyFile,
      PROOFLESS_SERVICE_TOKEN_FILE: secrets.serviceTokenFile,
      PROOFLESS_COMMITMENT_CHECK_INTERVAL_SECONDS: '0',
    });
    // As `npm start` runs them: compiled, by node alone (lib/build.ts says why).
    buildForProduction([REQUEST_COUNTER, PLAIN_DEPARTMENT]);
    const counter = ['--import', builtEntry(REQUEST_COUNTER)];
    const startGuarded = async (name: DepartmentName) => {
      guarded.set(name, await startChild(name, builtEntry(`subgraphs/${name}/index.ts`), departmentEnv(name), [...counter, ...(options.departmentNodeFlags?.(name) ?? [])]));
    };
    // The baseline's departments: those with registries, which its scenarios read (plain-department.ts says why no others).
    // Their configuration still wants the TLS files and the trust list in production; they are read and never used.
    const startPlain = async (name: DepartmentName) => {
      plain.set(name, await startChild(name, builtEntry(PLAIN_DEPARTMENT), { ...departmentEnv(name), BENCH_DEPARTMENT: name }, counter, `unguarded ${name}`));
    };
    const isPlainWanted = options.gateways.includes('plain');
    await Promise.all([
      ...departments.map(startGuarded),
      ...(isPlainWanted ? Object.keys(registryFiles(options.registryDir)).map(startPlain) : []),
    ]);
    const urlsOf = (started: Map<DepartmentName, Started>) => Object.fromEntries([...started].map(([name, s]) => [name, s.url]));

    const gatewayEnv: NodeJS.ProcessEnv = {
      ...base,
      ...tlsEnv('gateway'),
      PROOFLESS_REQUEST_SIGNING_KEY_FILE: signing.keyFile,
      PROOFLESS_REQUEST_SIGNING_KEY_ID: signing.keyId,
      PROOFLESS_DEPARTMENT_KEYS_FILE: path.join(pkiDir, 'department-keys.json'),
      PROOFLESS_DATA_DIR: options.runDir,
      PROOFLESS_GATEWAY_PORT: '0',
      PROOFLESS_JWT_ISSUER: secrets.issuer,
      PROOFLESS_JWT_AUDIENCE: secrets.audience,
      PROOFLESS_JWT_PUBLIC_KEY_FILE: secrets.jwtPublicKeyFile,
      PROOFLESS_PSEUDONYM_KEY_FILE: secrets.pseudonymKeyFile,
      PROOFLESS_CACHE_KEY_FILE: secrets.cacheKeyFile,
      PROOFLESS_AUDIT_KEY_FILE: secrets.auditKeyFile,
      PROOFLESS_RATE_LIMIT_APPLICATION_PER_MINUTE: String(BENCH_RATE_LIMIT),
      PROOFLESS_RATE_LIMIT_OFFICER_PER_MINUTE: String(BENCH_RATE_LIMIT),
      PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR: String(BENCH_RATE_LIMIT),
      PROOFLESS_MAX_CONCURRENT_PER_OFFICER: String(BENCH_CONCURRENT_PER_OFFICER),
    };
    for (const [name, url] of Object.entries(urlsOf(guarded))) gatewayEnv[`PROOFLESS_${name.toUpperCase()}_URL`] = url;
    const startGateway = async (target: keyof typeof PROOFLESS_GATEWAYS) => {
      // Each gateway instance writes its own audit chain, as instances sharing a store must.
      const env = { ...gatewayEnv, PROOFLESS_AUDIT_CHAIN_ID: `bench-${target}`, ...PROOFLESS_GATEWAYS[target] };
      // As `npm start` runs it: the product's own Node flags (the baseline keeps Node's defaults).
      const gateway = await startChild('gateway', builtEntry('gateway/index.ts'), env, [...GATEWAY_NODE_FLAGS, ...(options.gatewayNodeFlags ?? [])], target);
      gateways.set(target, gateway);
    };
    const startBaseline = async () => {
      // The departments it has no unguarded copy of keep their composed URLs, where nothing listens: its scenarios never call them.
      const supergraphFile = path.join(options.runDir, 'baseline-supergraph.graphql');
      writeFileSync(supergraphFile, withSubgraphUrls(loadSupergraph(SUPERGRAPH_FILE).gatewaySdl, urlsOf(plain)));
      gateways.set('plain', await startChild('baseline', path.join(__dirname, 'baseline.js'), { ...base, BENCH_SUPERGRAPH_FILE: supergraphFile }, []));
    };
    const proofless = options.gateways.filter((target): target is keyof typeof PROOFLESS_GATEWAYS => target in PROOFLESS_GATEWAYS);
    if (proofless.length === 0) throw new Error('a stack needs a Proofless gateway: the service bureau reads through one');
    await Promise.all([...proofless.map(startGateway), ...(isPlainWanted ? [startBaseline()] : [])]);
    // As `npm start` does: the bureau learns where the gateway listens once it does.
    (guarded.get('service') as Started).child.send({ gatewayUrl: (gateways.get(proofless[0]) as Started).url });
  } catch (error) {
    await stop();
    throw error;
  }

  const get = (target: TargetName): Started => {
    const entry = gateways.get(target) ?? plain.get(target);
    if (!entry) throw new Error(`no ${target} process in this stack${departments.includes(target) ? ': a department called directly is the baseline\'s unguarded one, started with the plain gateway' : ''}`);
    return entry;
  };
  const departmentsOf = (target: TargetName): Map<DepartmentName, Started> => {
    get(target);
    if (target in PROOFLESS_GATEWAYS) return guarded;
    return target === 'plain' ? plain : new Map();
  };
  return {
    url: (target) => get(target).url,
    pid: (target) => get(target).child.pid as number,
    pids: () => [...gateways.values(), ...guarded.values(), ...plain.values()].map((s) => s.child.pid as number),
    departmentPids: (target) => [...departmentsOf(target).values()].map((s) => s.child.pid as number),
    async departmentRequests(target, action) {
      const called = [...departmentsOf(target)];
      const counts = await Promise.all(called.map(([, s]) => askRequestCount(s.child, action)));
      return Object.fromEntries(called.map(([name], i) => [name, counts[i].benchRequestCount]));
    },
    async departmentConnections(target) {
      const counts = await Promise.all([...departmentsOf(target).values()].map((s) => askRequestCount(s.child, 'read')));
      return counts.reduce((sum, count) => sum + count.benchConnectionCount, 0);
    },
    stop,
  };
}

/**
 * The harness's environment without any PROOFLESS_ or APOLLO_ setting of the shell it
 * runs in, so every process gets exactly the configuration the report states; production
 * mode, and Apollo's telemetry off for the baseline (ours turns it off itself).
 */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(PROOFLESS_|APOLLO_)/.test(name)));
  return { ...env, NODE_ENV: 'production', APOLLO_TELEMETRY_DISABLED: 'true' };
}

/** The supergraph with each department's `@join__graph` URL replaced by where this run's department listens. */
export function withSubgraphUrls(sdl: string, urls: Record<string, string>): string {
  return sdl.replace(/@join__graph\(name: "([^"]+)", url: "[^"]*"\)/g, (whole, name: string) =>
    urls[name] ? `@join__graph(name: "${name}", url: "${urls[name]}")` : whole);
}

/**
 * Runs a JavaScript file by node alone: ours compiled in dist/, and the baseline, which is
 * JavaScript (bench/baseline.js says why). `name` is the one its ready message gives;
 * `label` says which process it is in errors, where two share a name.
 */
function startChild(name: string, file: string, env: NodeJS.ProcessEnv, nodeFlags: string[], label = name): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = fork(file, [], {
      cwd: REPO_ROOT,
      env,
      execArgv: nodeFlags,
      // Their "listening" lines would interleave with the report; their errors still show.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not start within ${READY_TIMEOUT_MS / 1000} s`));
    }, READY_TIMEOUT_MS);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited while starting (${signal ?? `code ${code}`})`));
    };
    child.once('exit', onExit);
    child.on('message', function onReady(message: { ready?: string; url?: string }) {
      if (message?.ready !== name || !message.url) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('message', onReady);
      resolve({ child, url: message.url });
    });
  });
}

function askRequestCount(child: ChildProcess, action: RequestCountQuery['benchRequestCount']): Promise<RequestCountAnswer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onAnswer);
      reject(new Error(`process ${child.pid} did not report its request count`));
    }, COUNT_TIMEOUT_MS);
    function onAnswer(message: Partial<RequestCountAnswer>) {
      if (typeof message?.benchRequestCount !== 'number') return;
      clearTimeout(timer);
      child.off('message', onAnswer);
      resolve(message as RequestCountAnswer);
    }
    child.on('message', onAnswer);
    const query: RequestCountQuery = { benchRequestCount: action };
    child.send(query);
  });
}

/** SIGTERM, and SIGKILL if it outlives the grace period. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(killTimer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
