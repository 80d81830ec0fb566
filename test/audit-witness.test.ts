import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openAuditLog } from '../audit/log';
import { loadPublicKey, loadSigningKey, signCheckpoint } from '../audit/signing';
import type { SignedCheckpoint } from '../audit/store';
import { verifyChains } from '../audit/verify';
import { lastWitnessedCheckpoint, openWitnessWriter, readWitnesses } from '../audit/witness';
import { AUDIT_STORE_KINDS, auditEntry, signingKeyFileIn } from './helpers/audit-stores';

/** The witness file: append-only, readable backwards at start, robust to a line a crash cut short. */
let folder: string;
let keyFile: string;
let file: string;
beforeEach(() => {
  folder = mkdtempSync(path.join(os.tmpdir(), 'proofless-witness-'));
  keyFile = signingKeyFileIn(folder);
  file = path.join(folder, 'witness.jsonl');
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

const checkpoint = (chainId: string, sequence: number): SignedCheckpoint =>
  signCheckpoint({ chainId, sequence, hash: 'a'.repeat(64), time: '2024-06-01T10:00:00.000Z', previous: null }, loadSigningKey(keyFile));

test('a line a crash cut short is ended before the next append, and skipped when read', async () => {
  const whole = checkpoint('gw-1', 1);
  writeFileSync(file, `${JSON.stringify(whole)}\n${JSON.stringify(checkpoint('gw-1', 2)).slice(0, 40)}`);
  const writer = await openWitnessWriter(file);
  const next = checkpoint('gw-1', 3);
  await writer.append(next);
  await writer.close();
  expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(4);
  expect(await readWitnesses([file])).toEqual(new Map([['gw-1', [{ checkpoint: whole, file, line: 1 }, { checkpoint: next, file, line: 3 }]]]));
  expect(await lastWitnessedCheckpoint(file, 'gw-1')).toEqual(next);
});

test('a chain\'s last checkpoint is found reading backwards, through other chains\' lines and chunk boundaries', async () => {
  const writer = await openWitnessWriter(file);
  const wanted = checkpoint('gw-1', 7);
  await writer.append(checkpoint('gw-1', 6));
  await writer.append(wanted);
  await writer.close();
  const other = JSON.stringify(checkpoint('gw-2', 1));
  appendFileSync(file, `${other}\n`.repeat(1000));
  expect(readFileSync(file).length).toBeGreaterThan(4 * 64 * 1024);
  expect(await lastWitnessedCheckpoint(file, 'gw-1')).toEqual(wanted);
  expect(await lastWitnessedCheckpoint(file, 'gw-3')).toBeNull();
  expect(await lastWitnessedCheckpoint(path.join(folder, 'absent.jsonl'), 'gw-1')).toBeNull();
});

test('a line that is JSON but not a checkpoint fails, naming the file and line', async () => {
  writeFileSync(file, `${JSON.stringify(checkpoint('gw-1', 1))}\n{"chainId":"gw-1"}\n`);
  await expect(readWitnesses([file])).rejects.toThrow(`${file} line 2 is not an audit checkpoint`);
});

describe.each(AUDIT_STORE_KINDS)('verifying a $name store against a witness', (kind) => {
  test('a witness line whose signature fails is reported where it is, not trusted', async () => {
    const target = await kind.create();
    try {
      const log = await openAuditLog({ store: target.store, chainId: 'gw-1', signingKeyFile: keyFile, witnessFile: file });
      await log.record(auditEntry());
      await log.close();
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
      const forged = { ...lines[1], hash: 'f'.repeat(64) };
      writeFileSync(file, [lines[0], forged].map((line) => JSON.stringify(line)).join('\n'));
      expect(await verifyChains(target.store, [loadPublicKey(keyFile)], { witnessed: await readWitnesses([file]) })).toEqual([{
        chainId: 'gw-1', ok: false, records: 1, lastSequence: 1, lastCheckpoint: 1, firstBadSequence: 1,
        problem: `checkpoint at 1 in witness ${file} line 2: signature invalid`,
      }]);
    } finally {
      await target.remove();
    }
  });
});
