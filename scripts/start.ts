import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, GATEWAY_NODE_FLAGS } from '../gateway/config';
import { buildForProduction, builtEntry } from '../lib/build';
import { loadCatalog } from '../lib/catalog';
import { listDepartments } from '../lib/composition';
import { ensureDevSecret } from '../lib/dev-secrets';
import { signDevToken } from '../lib/dev-token';
import { integerFromEnv } from '../lib/env';
import { dataDirFromEnv, REPO_ROOT } from '../lib/paths';
import { ensureSeeded, sampleIdNumbers, seedingOf } from '../synthetic/seed';

/**
 * `npm start`: the whole federation on loopback. Seeds the embedded registries on first
 * run, compiles the gateway and the departments to `dist/` (lib/build.ts, under a second),
 * starts each department as its own process with `node` (as departments deploy them), then the
 * gateway routed to them, tells the service bureau (a client of the gateway) where the
 * gateway listens, and prints where it listens with a query to paste. Ctrl-C or SIGTERM
 * stops every child before this process exits.
 */
const DEPARTMENTS = listDepartments().map((department) => department.name);
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

const children: ChildProcess[] = [];
let isStopping = false;

function startChild(name: string, entry: string, env: NodeJS.ProcessEnv, logDir: string, nodeFlags: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const log = openSync(path.join(logDir, `${name}.log`), 'a');
    const child = fork(builtEntry(entry), [], {
      cwd: REPO_ROOT,
      env,
      execArgv: nodeFlags,
      // Each process's JSON log goes to <data dir>/logs/<name>.log: on this terminal it would bury the one line this script prints. Start-up errors still show.
      stdio: ['ignore', log, 'inherit', 'ipc'],
    });
    closeSync(log);
    children.push(child);
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    child.on('message', (message: { ready?: string; url?: string }) => {
      if (message.ready === name && message.url) {
        clearTimeout(timer);
        resolve(message.url);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!isStopping) {
        reject(new Error(`${name} exited (${signal ?? `code ${code}`})`));
        stopAll(1);
      }
    });
  });
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
