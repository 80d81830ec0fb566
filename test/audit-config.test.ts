import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadAuditConfig } from '../audit/config';
import {
  checkAnchorSignature, checkCheckpointSignature, checkpointDigest, ensureSigningKeyFile, loadPublicKey, loadSigningKey, signAnchor, signCheckpoint, trustedKeys,
} from '../audit/signing';
import { ConfigError } from '../lib/env';

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(path.join(os.tmpdir(), 'proofless-audit-config-'));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

describe('loadAuditConfig', () => {
  test('defaults: SQLite, the key and (in development) the witness in the data folder, the host as chain, 2 ms / 100 groups, checkpoints each minute, 3 years, '
    + 'auditChains verified again after a minute without waiting', () => {
    expect(loadAuditConfig({ PROOFLESS_DATA_DIR: '/srv/proofless' })).toEqual({
      databaseUrl: null,
      sqliteFile: '/srv/proofless/audit.sqlite',
      postgresSchema: 'proofless_audit',
      signingKeyFile: '/srv/proofless/audit-signing-key.pem',
      trustedKeyFiles: ['/srv/proofless/audit-signing-key.pem'],
      chainId: os.hostname().replace(/[^A-Za-z0-9._:-]/g, '-'),
      groupCommitWindowMs: 2,
      maxGroupSize: 100,
      checkpointIntervalMs: 60000,
      retentionYears: 3,
      witnessFile: '/srv/proofless/audit-witness.jsonl',
      expectedChains: [],
      chainsMaxAgeMs: 60000,
      chainsWaitMs: 0,
    });
    expect(loadAuditConfig({ PROOFLESS_DATA_DIR: '/srv/proofless', NODE_ENV: 'production' }).witnessFile).toBeNull();
  });

  test('every variable', () => {
    expect(loadAuditConfig({
      PROOFLESS_DATA_DIR: '/srv/proofless',
      PROOFLESS_AUDIT_DATABASE_URL: 'postgres://audit@db.internal:5432/audit',
      PROOFLESS_AUDIT_DATABASE_SCHEMA: 'gateway_audit',
      PROOFLESS_AUDIT_KEY_FILE: '/etc/proofless/gw-1.pem',
      PROOFLESS_AUDIT_TRUSTED_KEY_FILES: '/etc/proofless/gw-1.pub, /etc/proofless/gw-2.pub',
      PROOFLESS_AUDIT_CHAIN_ID: 'gw-1',
      PROOFLESS_AUDIT_GROUP_COMMIT_MS: '5',
      PROOFLESS_AUDIT_GROUP_COMMIT_MAX: '500',
      PROOFLESS_AUDIT_CHECKPOINT_SECONDS: '10',
      PROOFLESS_AUDIT_RETENTION_YEARS: '5',
      PROOFLESS_AUDIT_WITNESS_FILE: '/mnt/witness/gw-1.jsonl',
      PROOFLESS_AUDIT_EXPECTED_CHAINS: 'gw-1, gw-2,,gw-1',
      PROOFLESS_AUDIT_CHAINS_MAX_AGE_SECONDS: '300',
      PROOFLESS_AUDIT_CHAINS_WAIT_MS: '2000',
      NODE_ENV: 'production',
    })).toEqual({
      databaseUrl: 'postgres://audit@db.internal:5432/audit',
      sqliteFile: '/srv/proofless/audit.sqlite',
      postgresSchema: 'gateway_audit',
      signingKeyFile: '/etc/proofless/gw-1.pem',
      trustedKeyFiles: ['/etc/proofless/gw-1.pub', '/etc/proofless/gw-2.pub'],
      chainId: 'gw-1',
      groupCommitWindowMs: 5,
      maxGroupSize: 500,
      checkpointIntervalMs: 10000,
      retentionYears: 5,
      witnessFile: '/mnt/witness/gw-1.jsonl',
      expectedChains: ['gw-1', 'gw-2'],
      chainsMaxAgeMs: 300000,
      chainsWaitMs: 2000,
    });
  });

  test.each([
    [{ PROOFLESS_AUDIT_CHAIN_ID: 'gw 1' }, 'PROOFLESS_AUDIT_CHAIN_ID must be 1 to 128 letters, digits, \'.\', \'_\', \':\' or \'-\', got "gw 1"'],
    [{ PROOFLESS_AUDIT_DATABASE_SCHEMA: 'Audit-Log' }, 'PROOFLESS_AUDIT_DATABASE_SCHEMA must be a lower-case SQL identifier, got "Audit-Log"'],
    [{ PROOFLESS_AUDIT_DATABASE_URL: 'mysql://root:secret@db/audit' }, 'PROOFLESS_AUDIT_DATABASE_URL must be a postgres or postgresql URL'],
    [{ PROOFLESS_AUDIT_GROUP_COMMIT_MAX: '5000' }, 'PROOFLESS_AUDIT_GROUP_COMMIT_MAX must be a whole number from 1 to 1000, got "5000"'],
    [{ PROOFLESS_AUDIT_RETENTION_YEARS: '0' }, 'PROOFLESS_AUDIT_RETENTION_YEARS must be a whole number from 1 to 100, got "0"'],
    [{ PROOFLESS_AUDIT_CHAINS_WAIT_MS: '-1' }, 'PROOFLESS_AUDIT_CHAINS_WAIT_MS must be a whole number from 0 to 300000, got "-1"'],
    [{ PROOFLESS_AUDIT_EXPECTED_CHAINS: 'gw-1,gw 2' }, 'each chain in PROOFLESS_AUDIT_EXPECTED_CHAINS must be 1 to 128 letters, digits, \'.\', \'_\', \':\' or \'-\', got "gw 2"'],
  ])('%j: %s', (env, message) => {
    expect(() => loadAuditConfig(env)).toThrow(new ConfigError(message));
  });
});

describe('signing keys', () => {
  test('a development key is created once, Ed25519, readable by its owner only, and never replaced', () => {
    const file = path.join(folder, 'keys', 'audit-signing-key.pem');
    ensureSigningKeyFile(file);
    const pem = readFileSync(file, 'utf8');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadSigningKey(file).privateKey.asymmetricKeyType).toBe('ed25519');
    ensureSigningKeyFile(file);
    expect(readFileSync(file, 'utf8')).toBe(pem);
  });

  test('a key of another kind, or no key, is refused with the file named', () => {
    const rsa = path.join(folder, 'rsa.pem');
    writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(() => loadSigningKey(rsa)).toThrow(`${rsa} must hold an Ed25519 private key, got a rsa key`);
    expect(() => loadSigningKey(path.join(folder, 'missing.pem'))).toThrow(`cannot read the key file ${path.join(folder, 'missing.pem')}: ENOENT`);
  });

  test('the digest a checkpoint is named by, worked out outside this code (Python json.dumps, sorted keys, then sha256)', () => {
    const signed = { keyId: 'b'.repeat(64), signature: 'c2lnbmF0dXJl' };
    expect(checkpointDigest({
      chainId: 'gw-1', sequence: 8, hash: 'a'.repeat(64), time: '2024-06-01T10:00:00.000Z', previous: { sequence: 4, digest: 'c'.repeat(64) }, ...signed,
    })).toBe('bd239ef16f216d9c68b87601c94a9052efce91f4401150182395acf6cda516e2');
    expect(checkpointDigest({ chainId: 'gw-1', sequence: 0, hash: '0'.repeat(64), time: '2024-06-01T10:00:00.000Z', previous: null, ...signed }))
      .toBe('7aeec67fcd2a7b1d042e3e96cffbfea127666c27095fb19178f867caab963222');
  });

  test('a checkpoint signature covers every member, and an anchor signature cannot pass for a checkpoint', () => {
    const file = path.join(folder, 'key.pem');
    ensureSigningKeyFile(file);
    const key = loadSigningKey(file);
    const keys = trustedKeys([loadPublicKey(file)]);
    const checkpoint = signCheckpoint({ chainId: 'gw-1', sequence: 8, hash: 'a'.repeat(64), time: '2024-06-01T10:00:00.000Z', previous: { sequence: 4, digest: 'c'.repeat(64) } }, key);
    expect(checkCheckpointSignature(checkpoint, keys)).toBe('valid');
    for (const change of [
      { chainId: 'gw-2' }, { sequence: 9 }, { hash: 'b'.repeat(64) }, { time: '2024-06-01T10:00:00.001Z' },
      { previous: { sequence: 5, digest: 'c'.repeat(64) } }, { previous: { sequence: 4, digest: 'd'.repeat(64) } }, { previous: null }, { previous: undefined },
    ]) {
      expect(checkCheckpointSignature({ ...checkpoint, ...change }, keys)).toBe('invalid');
    }
    // An unlinked checkpoint (written before checkpoints were linked) is a statement of another kind.
    const unlinked = signCheckpoint({ chainId: 'gw-1', sequence: 8, hash: 'a'.repeat(64), time: '2024-06-01T10:00:00.000Z' }, key);
    expect(checkCheckpointSignature(unlinked, keys)).toBe('valid');
    expect(checkCheckpointSignature({ ...unlinked, previous: null }, keys)).toBe('invalid');
    expect(checkCheckpointSignature(checkpoint, trustedKeys([]))).toBe('untrusted key');
    const anchor = signAnchor({ chainId: 'gw-1', firstKeptSequence: 8, previousHash: 'a'.repeat(64), time: '2024-06-01T10:00:00.000Z' }, key);
    expect(checkAnchorSignature(anchor, keys)).toBe('valid');
    expect(checkCheckpointSignature({ ...checkpoint, signature: anchor.signature }, keys)).toBe('invalid');
  });
});
