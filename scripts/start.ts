import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, GATEWAY_NODE_FLAGS } from '../gateway/config';
import { buildForProduction, builtEntry } from '../lib/build';
import { loadCatalog } from '../lib/catalog';
import { listDepartments } from '../lib/composition';
import { ensureDevSecret } from '../lib/dev-secrets';
import { signDevToken } from '../lib/dev-token';
import { integerFromEnv } from '../lib/env';
import { pkiDirFromEnv } from '../lib/federation-transport';
import { maskIdNumbers } from '../lib/logger';
import { ensureDevelopmentPki } from '../lib/pki';
import { ensureDevelopmentDepartmentKey, ensureDevelopmentSigningKey } from '../lib/trust-list';
import { dataDirFromEnv, REPO_ROOT } from '../lib/paths';
import { ensureSeeded, sampleIdNumbers, seedingOf } from '../synthetic/seed';

/**
 * `npm start`: the whole federation on loopback. Seeds the embedded registries and makes
 * the development PKI (data/pki: a CA, a certificate per process, the gateway's signing
 * key and the departments' trust list) on first run, compiles the gateway and the departments to `dist/` (lib/build.ts, under a second),
 * starts each department as its own process with `node` (as departments deploy them), then the
 * gateway routed to them, tells the service bureau (a client of the gateway) where the
 * gateway listens, and prints where it listens with a query to paste. Ctrl-C or SIGTERM
 * stops every child before this process exits; a child that stops by itself stops the
 * rest, and the terminal is told which, why and the end of its log.
 */
const DEPARTMENTS = listDepartments().map((department) => department.name);
const READY_TIMEOUT_MS = 60_000;
/** Longer than a gateway's drain may take (lib/http-drain.ts, 10 s), so it still writes its last audit records and final checkpoint. */
const STOP_TIMEOUT_MS = 15_000;
/** How much of a stopped process's log the terminal is shown. */
const LOG_TAIL_LINES = 10;

const children: ChildProcess[] = [];
let isStopping = false;

function startChild(name: string, entry: string, env: NodeJS.ProcessEnv, logDir: string, nodeFlags: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const logFile = path.join(logDir, `${name}.log`);
    const log = openSync(logFile, 'a');
    // The log is appended to run after run: what this run wrote starts here.
    const logStart = fstatSync(log).size;
    const child = fork(builtEntry(entry), [], {
      cwd: REPO_ROOT,
      env,
      execArgv: nodeFlags,
      // Each process's JSON log goes to <data dir>/logs/<name>.log: on this terminal it would bury the one line this script prints. Start-up errors and crashes still show, masked as logs are.
      stdio: ['ignore', log, 'pipe', 'ipc'],
    });
    closeSync(log);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => process.stderr.write(`${maskIdNumbers(line)}\n`));
    children.push(child);
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    child.on('message', (message: { ready?: string; url?: string }) => {
      if (message.ready === name && message.url) {
        clearTimeout(timer);
        resolve(message.url);
      }
    });
    // 'close', not 'exit': what the child wrote to stderr last is on the terminal before the report.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (isStopping) return;
      console.error(`npm start: ${stoppedReport(name, code, signal, logFile, logStart)}`);
      stopAll(1);
    });
  });
}

/** Which process stopped by itself and why: its exit code or signal, and the last lines this run wrote to its log, masked as logs are. */
function stoppedReport(name: string, code: number | null, signal: NodeJS.Signals | null, logFile: string, logStart: number): string {
  const who = DEPARTMENTS.includes(name) ? `the ${name} department` : `the ${name}`;
  const how = signal ? `killed by ${signal}` : `exit code ${code}`;
  const lines = lastLinesOf(logFile, logStart, LOG_TAIL_LINES);
  const tail = lines.length > 0 ? `Last lines of ${logFile}:\n${lines.map((line) => `  ${maskIdNumbers(line)}`).join('\n')}` : `${logFile} has nothing from this run.`;
  return `${who} stopped (${how}); stopping everything else. ${tail}`;
}

/** The last `count` lines of `file` from byte `from` on, reading no more than its last 64 KiB. */
function lastLinesOf(file: string, from: number, count: number): string[] {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - 65536);
    const buffer = Buffer.alloc(size - start);
    readSync(fd, buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').split('\n').filter((line) => line !== '');
    // A read that starts mid-file starts mid-line: that first piece is not a line.
    return (start > from ? lines.slice(1) : lines).slice(-count);
  } finally {
    closeSync(fd);
  }
}

function stopAll(exitCode: number): void {
  if (isStopping) return;
  isStopping = true;
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  const killTimer = setTimeout(() => {
    for (const child of running) child.kill('SIGKILL');
  }, STOP_TIMEOUT_MS);
  let remaining = running.length;
  if (remaining === 0) process.exit(exitCode);
  for (const child of running) {
    child.once('exit', () => {
      remaining -= 1;
      if (remaining === 0) {
        clearTimeout(killTimer);
        process.exit(exitCode);
      }
    });
    child.kill('SIGTERM');
  }
}

/** The service item the printed example acts for: public rental housing needs household, residence and licence facts. */
const EXAMPLE_SERVICE_ITEM = '330100-ZJ-0001';

function exampleCurl(gatewayUrl: string, token: string, idNumber: string): string {
  const query = `{ citizen(idNumber: "${idNumber}") { identity { name birthDate } household { members { relation citizen { identity { name } } } } residence { status address { detail } } licences { kind status } } }`;
  const headers = [`authorization: Bearer ${token}`, `x-service-item: ${EXAMPLE_SERVICE_ITEM}`, 'x-case-number: DEMO-0001', 'content-type: application/json'];
  return `curl -s ${gatewayUrl} ${headers.map((header) => `-H '${header}'`).join(' ')} -d '${JSON.stringify({ query })}'`;
}

/** A development token for every service item in the catalog, so the printed curl and GraphiQL work as pasted. */
function developmentToken(dataDir: string): Promise<string> {
  return signDevToken(ensureDevSecret(dataDir, 'dev-jwt-secret'), DEFAULT_ISSUER, DEFAULT_AUDIENCE, {
    application: 'dev-console',
    officer: 'dev-officer',
    role: 'service',
    serviceItems: [...loadCatalog().items.keys()],
    scopes: [],
  });
}

async function main(): Promise<void> {
  process.once('SIGINT', () => stopAll(0));
  process.once('SIGTERM', () => stopAll(0));
  const dataDir = dataDirFromEnv(process.env);
  const citizens = integerFromEnv(process.env, 'PROOFLESS_SEED_CITIZENS', 10_000, { min: 1, max: 10_000_000 });
  if (seedingOf(dataDir)?.citizens !== citizens) console.log(`Seeding ${citizens} synthetic citizens into ${dataDir} (first start only)...`);
  ensureSeeded(dataDir, { citizens });
  buildForProduction();

  // Created before the gateway starts so it and the printed token share the secret.
  ensureDevSecret(dataDir, 'dev-jwt-secret');
  // The federation's development CA, a certificate for the gateway and each department, and the gateway's request-signing key in the departments' trust list: made on first start, kept after.
  const pkiDir = pkiDirFromEnv(process.env);
  await ensureDevelopmentPki(pkiDir, ['gateway', ...DEPARTMENTS]);
  ensureDevelopmentSigningKey(pkiDir);
  // Every department's receipt and access-log key, made here, one after another: each rewrites the departments' trust list.
  for (const department of DEPARTMENTS) ensureDevelopmentDepartmentKey(pkiDir, department);
  const env = { ...process.env, PROOFLESS_DATA_DIR: dataDir };
  const logDir = path.join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const urls = await Promise.all(DEPARTMENTS.map((name) => startChild(name, `subgraphs/${name}/index.ts`, env, logDir)));
  const gatewayEnv: NodeJS.ProcessEnv = { ...env };
  DEPARTMENTS.forEach((name, i) => {
    gatewayEnv[`PROOFLESS_${name.toUpperCase()}_URL`] = urls[i];
  });
  const gatewayUrl = await startChild('gateway', 'gateway/index.ts', gatewayEnv, logDir, GATEWAY_NODE_FLAGS);
  // Children were started, and so listed, in DEPARTMENTS order.
  children[DEPARTMENTS.indexOf('service')].send({ gatewayUrl });
  const [idNumber] = sampleIdNumbers(dataDir, 1);
  const token = await developmentToken(dataDir);
  console.log(`Proofless gateway listening on ${gatewayUrl} (departments: ${DEPARTMENTS.join(', ')}). Try: ${exampleCurl(gatewayUrl, token, idNumber)}`);
}

main().catch((error: Error) => {
  console.error(`npm start: ${error.message}`);
  stopAll(1);
});
