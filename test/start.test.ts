import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST_DIR } from '../lib/build';
import { REPO_ROOT } from '../lib/paths';
import { ZHANG_WEI } from './fixtures/registries';

/**
 * `npm start` as a newcomer runs it: seed on first run, every department in its own
 * process, one line with a query to paste, and Ctrl-C / SIGTERM stopping everything.
 */
let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-start-'));
});

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// A failed expectation must not leave the federation running (and jest waiting on it): stopped as a user would.
let started: ChildProcess | undefined;
afterEach(async () => {
  if (!started || started.exitCode !== null || started.signalCode !== null) return;
  const exited = new Promise((resolve) => started?.once('exit', resolve));
  started.kill('SIGTERM');
  await exited;
});

/** `npm start` over the test's data folder on free ports, once it has printed its line (or rejecting if it exits first). */
async function startFederation() {
  const child = spawn(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['scripts/start.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PROOFLESS_DATA_DIR: dataDir,
      PROOFLESS_SEED_CITIZENS: '400',
      PROOFLESS_GATEWAY_PORT: '0',
      PROOFLESS_HOUSEHOLD_PORT: '0',
      PROOFLESS_RESIDENCE_PORT: '0',
      PROOFLESS_LICENSE_PORT: '0',
      PROOFLESS_SERVICE_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started = child;
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => (output.stdout += chunk));
  child.stderr.on('data', (chunk) => (output.stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const line = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /^Proofless gateway listening on .*$/m.exec(output.stdout);
      if (match) {
        clearInterval(timer);
        resolve(match[0]);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`npm start exited early: ${output.stderr}`));
      }
    }, 100);
  });
  return { child, output, exited, line };
}

test('npm start seeds, starts every process, prints a query that works as pasted, and stops cleanly on SIGTERM', async () => {
  const { child, output, exited, line } = await startFederation();
  const { stdout, stderr } = output;
  expect(stdout.split('\n').filter(Boolean)).toEqual([`Seeding 400 synthetic citizens into ${dataDir} (first start only)...`, line]);
  expect(stderr).toBe('');

  // The printed curl, taken apart and sent as it says.
  const curl = /Try: curl -s (\S+) ((?:-H '[^']+' )+)-d '(.*)'$/.exec(line);
  expect(curl).not.toBeNull();
  const [, gatewayUrl, headerArguments, body] = curl as RegExpExecArray;
  const headers = Object.fromEntries([...headerArguments.matchAll(/-H '([^:]+): ([^']+)'/g)].map(([, name, value]) => [name, value]));
  expect(Object.keys(headers)).toEqual(['authorization', 'x-service-item', 'x-case-number', 'content-type']);
  const response = await fetch(gatewayUrl, { method: 'POST', headers, body });
  const answer = (await response.json()) as any;
  expect(answer.errors).toBeUndefined();
  expect(answer.data.citizen.identity.name).toEqual(expect.any(String));
  expect(answer.data.citizen.residence).toEqual(expect.objectContaining({ status: expect.any(String) }));

  const processes = descendantsOf(child.pid as number);
  // tsx, the node it runs, five departments and the gateway; those six compiled, from dist/, run by node alone (lib/build.ts says why).
  const compiled = processes.map(commandOf).filter((command) => command.includes(`${DIST_DIR}/`));
  expect(compiled.map((command) => path.relative(DIST_DIR, command.split(' ').pop() as string)).sort()).toEqual([
    'gateway/index.js',
    ...['audit', 'household', 'license', 'residence', 'service'].map((name) => `subgraphs/${name}/index.js`),
  ]);
  expect(compiled.filter((command) => command.includes('tsx'))).toEqual([]);
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(processes.filter(isRunning)).toEqual([]);
  await expect(fetch(gatewayUrl, { method: 'POST', headers, body })).rejects.toThrow();

  // Each process logs JSON lines to <data dir>/logs/<name>.log; the gateway's record the answer, with no ID number.
  const gatewayLog = readFileSync(path.join(dataDir, 'logs', 'gateway.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  expect(gatewayLog).toContainEqual(expect.objectContaining({ name: 'gateway', level: 'info', msg: `gateway listening on ${gatewayUrl}` }));
  expect(gatewayLog).toContainEqual(expect.objectContaining({ msg: 'answered', status: 200, outcome: 'ok', serviceItem: '330100-ZJ-0001' }));
  // Stopped by its own hand, not by Apollo Server's signal handler: the audit log was closed with its final checkpoint.
  expect(gatewayLog.at(-1)).toEqual(expect.objectContaining({ level: 'info', msg: 'stopped: every answer recorded, final audit checkpoint written' }));
  expect(JSON.stringify(gatewayLog)).not.toMatch(/\d{17}[\dX]/);
  for (const name of ['household', 'residence', 'license', 'service', 'audit']) {
    expect(readFileSync(path.join(dataDir, 'logs', `${name}.log`), 'utf8')).toContain(`"msg":"${name} subgraph listening on`);
  }
});

test('a process that stops by itself stops the rest, and the terminal says which, why and the end of its log, masked', async () => {
  const { child, output, exited } = await startFederation();
  const processes = descendantsOf(child.pid as number);
  const residence = processes.find((pid) => commandOf(pid).endsWith(path.join('subgraphs', 'residence', 'index.js'))) as number;
  expect(residence).toEqual(expect.any(Number));
  // A line the logger did not write (a dependency printing to standard output) is not masked on its way to the file.
  const logFile = path.join(dataDir, 'logs', 'residence.log');
  appendFileSync(logFile, `registry read failed for ${ZHANG_WEI}\n`);
  process.kill(residence, 'SIGKILL');
  expect(await exited).toBe(1);
  expect(processes.filter(isRunning)).toEqual([]);

  const thisRun = readFileSync(logFile, 'utf8').trim().split('\n').slice(-2);
  expect(thisRun[0]).toMatch(/"msg":"residence subgraph listening on https:/);
  expect(output.stderr).toBe(
    `npm start: the residence department stopped (killed by SIGKILL); stopping everything else. Last lines of ${logFile}:\n` +
      `  ${thisRun[0]}\n` +
      '  registry read failed for 330106********0015\n',
  );
});

function descendantsOf(root: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number));
  const childrenOf = (pid: number): number[] => table.filter(([, ppid]) => ppid === pid).map(([child]) => child);
  const walk = (pid: number): number[] => childrenOf(pid).flatMap((child) => [child, ...walk(child)]);
  return walk(root);
}

/** The command line a process was started with. */
function commandOf(pid: number): string {
  return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
}

/** Still running: present and not a zombie (an exited child its reparented parent has not reaped yet). */
function isRunning(pid: number): boolean {
  try {
    return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim().startsWith('Z');
  } catch {
    return false;
  }
}
