import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { REPO_ROOT } from '../../lib/paths';
import { transportEnv } from './federation-security';
import { watchOutput } from './process-output';

export interface DepartmentProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Its `/graphql` URL, from its "listening" log line. */
  url: string;
  /** Resolves with the first line of its JSON log matching `pattern`, once written. */
  lineMatching(pattern: RegExp): Promise<string>;
  /** Standard error so far (a refusal to start is written there). */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Department `name` in a process of its own, as `npm start` runs it (`node --import tsx
 * subgraphs/<name>/index.ts`), on a free port, with the test PKI's certificate and trust
 * list: a real department, for attacks that must meet the real thing.
 */
export async function spawnDepartment(name: string, dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<DepartmentProcess> {
  const child = departmentProcess(name, dataDir, env);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lineMatching = watchOutput(child, `the ${name} department`);
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const line = await lineMatching(new RegExp(`${name} subgraph listening on`));
    const url = /listening on (https?:\/\/[^\s"]+)/.exec(line)?.[1] as string;
    return { child, url, lineMatching, stderr: () => stderr, stop };
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${stderr}`);
  }
}

/** Runs department `name` as a process expecting it to refuse to start; resolves with its exit code and standard error. */
export function departmentRefusingToStart(name: string, dataDir: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = departmentProcess(name, dataDir, env);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
}

/** `node --import tsx subgraphs/<name>/index.ts` in development, on a free port, over `dataDir`, with the test PKI's files for `name`; `env` overrides any of it. */
function departmentProcess(name: string, dataDir: string, env: NodeJS.ProcessEnv): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, ['--import', 'tsx', `subgraphs/${name}/index.ts`], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_ENV: 'development', PROOFLESS_DATA_DIR: dataDir, [`PROOFLESS_${name.toUpperCase()}_PORT`]: '0', ...transportEnv(name), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
