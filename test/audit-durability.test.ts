import { spawn } from 'node:child_process';
import { openAuditLog } from '../audit/log';
import { loadPublicKey } from '../audit/signing';
import { verifyChains } from '../audit/verify';
import { REPO_ROOT } from '../lib/paths';
import { AUDIT_STORE_KINDS, auditEntry, signingKeyFileIn, type AuditStoreTarget } from './helpers/audit-stores';

/**
 * A record whose record() resolved survives the process being killed outright: the
 * child prints each sequence only after record() resolved, is SIGKILLed mid-run, and
 * every sequence it printed must be in the store, in a chain that verifies and that a
 * restarted gateway continues. (This kills the process, not the machine: surviving power
 * loss rests on `synchronous = FULL` and PostgreSQL's synchronous commit.)
 */
describe.each(AUDIT_STORE_KINDS)('records on $name survive SIGKILL', (kind) => {
  let target: AuditStoreTarget;
  beforeEach(async () => {
    target = await kind.create();
  });
  afterEach(() => target.remove());

  test('every sequence printed is stored, and the chain verifies and goes on', async () => {
    const keyFile = signingKeyFileIn(target.folder);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/audit-record-loop.ts', keyFile, ...target.childArguments], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (stdout.split('\n').length > 400) {
          clearInterval(timer);
          resolve();
        } else if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`the recording child exited early: ${stderr}`));
        }
      }, 5);
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const printed = stdout.split('\n').filter((line) => /^\d+$/.test(line)).map(Number);
    expect(printed.length).toBeGreaterThanOrEqual(400);
    expect(printed).toEqual(Array.from({ length: printed.length }, (_, i) => i + 1));
    const store = await target.reopen();
    const stored = (await store.readChain('gw-kill', 0, 1_000_000)).map((record) => record.sequence);
    expect(stored.slice(0, printed.length)).toEqual(printed);

    const [verification] = await verifyChains(store, [loadPublicKey(keyFile)]);
    expect(verification).toMatchObject({ chainId: 'gw-kill', ok: true, records: stored.length, lastSequence: stored.length });
    expect(verification.lastCheckpoint).not.toBeNull();

    const log = await openAuditLog({ store, chainId: 'gw-kill', signingKeyFile: keyFile });
    expect((await log.record(auditEntry())).sequence).toBe(stored.length + 1);
    await log.close();
  });
});
