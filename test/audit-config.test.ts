import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadAuditConfig } from '../audit/config';
import {
  checkAnchorSignature, checkCheckpointSignature, ensureSigningKeyFile, loadPublicKey, loadSigningKey, signAnchor, signCheckpoint, trustedKeys,
} from '../audit/signing';
import { ConfigError } from '../lib/env';

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(path.join(os.tmpdir(), 'proofless-audit-config-'));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

describe('loadAuditConfig', () => {
  test('defaults: SQLite and the key in the data folder, the host as chain, 2 ms / 100 groups, checkpoints each minute, 3 years', () => {
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
    });
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
    });
  });

  test.each([
    [{ PROOFLESS_AUDIT_CHAIN_ID: 'gw 1' }, 'PROOFLESS_AUDIT_CHAIN_ID must be 1 to 128 letters, digits, \'.\', \'_\', \':\' or \'-\', got "gw 1"'],
    [{ PROOFLESS_AUDIT_DATABASE_SCHEMA: 'Audit-Log' }, 'PROOFLESS_AUDIT_DATABASE_SCHEMA must be a lower-case SQL identifier, got "Audit-Log"'],
    [{ PROOFLESS_AUDIT_DATABASE_URL: 'mysql://root:secret@db/audit' }, 'PROOFLESS_AUDIT_DATABASE_URL must be a postgres or postgresql URL'],
    [{ PROOFLESS_AUDIT_GROUP_COMMIT_MAX: '5000' }, 'PROOFLESS_AUDIT_GROUP_COMMIT_MAX must be a whole number from 1 to 1000, got "5000"'],
    [{ PROOFLESS_AUDIT_RETENTION_YEARS: '0' }, 'PROOFLESS_AUDIT_RETENTION_YEARS must be a whole number from 1 to 100, got "0"'],
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

  test('a checkpoint signature covers every member, and an anchor signature cannot pass for a checkpoint', () => {
    const file = path.join(folder, 'key.pem');
    ensureSigningKeyFile(file);
    const key = loadSigningKey(file);
    const keys = trustedKeys([loadPublicKey(file)]);
    const checkpoint = signCheckpoint({ chainId: 'gw-1', sequence: 8, hash: 'a'.repeat(64), time: '2024-06-01T10:00:00.000Z' }, key);
    expect(checkCheckpointSignature(checkpoint, keys)).toBe('valid');
    for (const change of [{ chainId: 'gw-2' }, { sequence: 9 }, { hash: 'b'.repeat(64) }, { time: '2024-06-01T10:00:00.001Z' }]) {
      expect(checkCheckpointSignature({ ...checkpoint, ...change }, keys)).toBe('invalid');
    }
    expect(checkCheckpointSignature(checkpoint, trustedKeys([]))).toBe('untrusted key');
    const anchor = signAnchor({ chainId: 'gw-1', firstKeptSequence: 8, previousHash: 'a'.repeat(64), time: '2024-06-01T10:00:00.000Z' }, key);
    expect(checkAnchorSignature(anchor, keys)).toBe('valid');
    expect(checkCheckpointSignature({ ...checkpoint, signature: anchor.signature }, keys)).toBe('invalid');
  });
});
