import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';
import { watchOutput } from './process-output';
import { transportEnv } from './federation-security';
import type { Stack } from './stack';

export interface GatewayProcess {
  /** The process, as `npm start` runs it: `node --import tsx gateway/index.ts`. */
  child: ChildProcessByStdio<null, Readable, null>;
  /** Its `/graphql` URL, from its "listening" log line. */
  url: string;
  /** Resolves with the exit code once it has exited. */
  exited: Promise<number | null>;
  /** Resolves with the first line of its standard output (its JSON log) that matches `pattern`, once written. */
  lineMatching(pattern: RegExp): Promise<string>;
}

/**
 * The gateway in a process of its own (for what only a process can show: signals, a
 * kill), over a test stack's departments and data folder, writing its own audit chain.
 * `env` overrides any variable, a department's URL say.
 */
export async function spawnGateway(stack: Stack, dataDir: string, chainId: string, env: NodeJS.ProcessEnv = {}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/index.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PROOFLESS_GATEWAY_PORT: '0',
      PROOFLESS_DATA_DIR: dataDir,
      PROOFLESS_CATALOG: path.join(dataDir, 'test-catalog.json'),
      PROOFLESS_AUDIT_CHAIN_ID: chainId,
      PROOFLESS_HOUSEHOLD_URL: stack.subgraphs.household.url,
      PROOFLESS_RESIDENCE_URL: stack.subgraphs.residence.url,
      PROOFLESS_LICENSE_URL: stack.subgraphs.license.url,
      ...transportEnv(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lineMatching = watchOutput(child, 'the gateway');
  const url = /gateway listening on (https?:\/\/[^\s"]+)/.exec(await lineMatching(/gateway listening on/))?.[1] as string;
  return { child, url, exited, lineMatching };
}
