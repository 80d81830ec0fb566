import { ensureDevelopmentPki, issueCertificate } from '../lib/pki';
import { ConfigError } from '../lib/env';
import { loadTlsMaterial, secondsUntilExpiry, tlsFilesFromEnv, watchTlsMaterial, type TlsFiles, type TlsMaterial } from '../lib/tls-files';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Loading a process's TLS files: checked together where they enter, each refusal naming the
 * variable, the file and the reason; reloaded when rotated, and never half-rotated.
 */
let root: string;
let dir: string;
let otherDir: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'proofless-tls-files-'));
  dir = path.join(root, 'federation');
  otherDir = path.join(root, 'attacker');
  await ensureDevelopmentPki(dir, ['gateway', 'household']);
  await ensureDevelopmentPki(otherDir, ['gateway']);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function filesOf(folder: string, name: string): TlsFiles {
  return { caFile: path.join(folder, 'ca.pem'), certFile: path.join(folder, `${name}.pem`), keyFile: path.join(folder, `${name}-key.pem`) };
}

/** A folder of its own holding a copy of the federation's CA, for tests that change files. */
function copyOfCa(name: string): string {
  const folder = path.join(root, name);
  mkdirSync(folder);
  for (const file of ['ca.pem', 'ca-key.pem']) copyFileSync(path.join(dir, file), path.join(folder, file));
  return folder;
}

function loadError(files: TlsFiles, variableNames?: { ca: string; cert: string; key: string }): Error {
  try {
    loadTlsMaterial(files, variableNames);
  } catch (error) {
    return error as Error;
  }
  throw new Error('loadTlsMaterial did not refuse');
}

describe('loadTlsMaterial', () => {
  test('a consistent set loads with its names, expiry and serial', () => {
    const files = filesOf(dir, 'gateway');
    const material = loadTlsMaterial(files);
    const certificate = new X509Certificate(readFileSync(files.certFile));
    expect(material).toEqual({
      files,
      ca: readFileSync(files.caFile, 'utf8'),
      cert: readFileSync(files.certFile, 'utf8'),
      key: readFileSync(files.keyFile, 'utf8'),
      names: ['gateway', 'localhost'],
      notAfter: new Date(certificate.validTo),
      serialNumber: certificate.serialNumber,
    });
  });

  test('a missing file is named with its variable', () => {
    const files = { ...filesOf(dir, 'gateway'), certFile: path.join(dir, 'nobody.pem') };
    const error = loadError(files);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`PROOFLESS_TLS_CERT_FILE ${path.join(dir, 'nobody.pem')}: no such file`);
  });

  test('a file that is not PEM of its kind is refused', () => {
    const notPem = path.join(root, 'not-pem.txt');
    writeFileSync(notPem, 'hello\n');
    expect(loadError({ ...filesOf(dir, 'gateway'), caFile: notPem }).message).toBe(`PROOFLESS_TLS_CA_FILE ${notPem}: not a PEM certificate`);
    expect(loadError({ ...filesOf(dir, 'gateway'), certFile: notPem }).message).toBe(`PROOFLESS_TLS_CERT_FILE ${notPem}: not a PEM certificate`);
    expect(loadError({ ...filesOf(dir, 'gateway'), keyFile: notPem }).message).toBe(`PROOFLESS_TLS_KEY_FILE ${notPem}: not a PEM private key`);
    // A key where the certificate belongs, and the other way round.
    expect(loadError({ ...filesOf(dir, 'gateway'), certFile: path.join(dir, 'gateway-key.pem') }).message).toBe(`PROOFLESS_TLS_CERT_FILE ${path.join(dir, 'gateway-key.pem')}: not a PEM certificate`);
    expect(loadError({ ...filesOf(dir, 'gateway'), keyFile: path.join(dir, 'gateway.pem') }).message).toBe(`PROOFLESS_TLS_KEY_FILE ${path.join(dir, 'gateway.pem')}: not a PEM private key`);
  });

  test('a PEM block that does not parse is refused', () => {
    const broken = path.join(root, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(loadError({ ...filesOf(dir, 'gateway'), certFile: broken }).message).toBe(`PROOFLESS_TLS_CERT_FILE ${broken}: not a PEM certificate (a CERTIFICATE block that does not parse)`);
    const brokenKey = path.join(root, 'broken-key.pem');
    writeFileSync(brokenKey, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    expect(loadError({ ...filesOf(dir, 'gateway'), keyFile: brokenKey }).message).toBe(`PROOFLESS_TLS_KEY_FILE ${brokenKey}: not a PEM private key (a PRIVATE KEY block that does not parse)`);
  });

  test('attack: another process\'s key beside the certificate is refused', () => {
    const files = { ...filesOf(dir, 'gateway'), keyFile: path.join(dir, 'household-key.pem') };
    expect(loadError(files).message).toBe(`PROOFLESS_TLS_KEY_FILE ${path.join(dir, 'household-key.pem')}: not the private key of the certificate ${path.join(dir, 'gateway.pem')}`);
  });

  test('attack: a certificate from another CA is refused', () => {
    const files = { ...filesOf(otherDir, 'gateway'), caFile: path.join(dir, 'ca.pem') };
    expect(loadError(files).message).toBe(`PROOFLESS_TLS_CERT_FILE ${path.join(otherDir, 'gateway.pem')}: not issued by the CA in ${path.join(dir, 'ca.pem')}`);
  });

  test('attack: an end-entity certificate given as the CA is refused', () => {
    const files = { ...filesOf(dir, 'gateway'), caFile: path.join(dir, 'household.pem') };
    expect(loadError(files).message).toBe(`PROOFLESS_TLS_CA_FILE ${path.join(dir, 'household.pem')}: not a CA certificate (CN=household has basicConstraints CA false)`);
  });

  test('a CA file with several CAs trusts each of them', () => {
    const bundle = path.join(root, 'bundle.pem');
    writeFileSync(bundle, readFileSync(path.join(otherDir, 'ca.pem'), 'utf8') + readFileSync(path.join(dir, 'ca.pem'), 'utf8'));
    expect(loadTlsMaterial({ ...filesOf(dir, 'gateway'), caFile: bundle }).names).toEqual(['gateway', 'localhost']);
  });

  test('the caller\'s variable names are the ones in the message', () => {
    const files = { ...filesOf(dir, 'gateway'), keyFile: path.join(dir, 'household-key.pem') };
    expect(loadError(files, { ca: 'DEPARTMENT_CA', cert: 'DEPARTMENT_CERT', key: 'DEPARTMENT_KEY' }).message).toBe(
      `DEPARTMENT_KEY ${path.join(dir, 'household-key.pem')}: not the private key of the certificate ${path.join(dir, 'gateway.pem')}`,
    );
  });

  test('an expired certificate loads, and secondsUntilExpiry says how long ago it ran out', async () => {
    const folder = copyOfCa('expired');
    const issued = await issueCertificate(folder, 'household', { days: 1, now: new Date('2024-01-10T00:00:00Z') });
    const material = loadTlsMaterial(filesOf(folder, 'household'));
    expect(material.notAfter).toEqual(new Date('2024-01-10T23:59:00Z'));
    expect(issued.notAfter).toEqual(material.notAfter);
    expect(secondsUntilExpiry(material, new Date('2024-01-11T00:00:00Z'))).toBe(-60);
    expect(secondsUntilExpiry(material, new Date('2024-01-09T23:59:00Z'))).toBe(86_400);
    expect(secondsUntilExpiry(material)).toBeLessThan(0);
  });
});

describe('tlsFilesFromEnv', () => {
  const pkiDir = '/srv/proofless/data/pki';

  test('in development each file defaults to the development PKI', () => {
    expect(tlsFilesFromEnv({}, 'household', pkiDir)).toEqual({ caFile: '/srv/proofless/data/pki/ca.pem', certFile: '/srv/proofless/data/pki/household.pem', keyFile: '/srv/proofless/data/pki/household-key.pem' });
  });

  test('given files win, resolved to absolute paths', () => {
    const env = { PROOFLESS_TLS_CA_FILE: '/etc/proofless/ca.pem', PROOFLESS_TLS_CERT_FILE: 'tls/household.pem', PROOFLESS_TLS_KEY_FILE: '' };
    expect(tlsFilesFromEnv(env, 'household', pkiDir)).toEqual({ caFile: '/etc/proofless/ca.pem', certFile: path.resolve('tls/household.pem'), keyFile: '/srv/proofless/data/pki/household-key.pem' });
  });

  test('in production every file must be given, and the message names the missing ones', () => {
    expect(() => tlsFilesFromEnv({ NODE_ENV: 'production' }, 'gateway', pkiDir)).toThrow(
      new ConfigError("PROOFLESS_TLS_CA_FILE, PROOFLESS_TLS_CERT_FILE, PROOFLESS_TLS_KEY_FILE are required when NODE_ENV=production: the gateway speaks mutual TLS with a certificate from the federation's CA"),
    );
    expect(() => tlsFilesFromEnv({ NODE_ENV: 'production', PROOFLESS_TLS_CA_FILE: '/etc/ca.pem', PROOFLESS_TLS_CERT_FILE: '/etc/household.pem', PROOFLESS_TLS_KEY_FILE: '' }, 'household', pkiDir)).toThrow(
      new ConfigError("PROOFLESS_TLS_KEY_FILE is required when NODE_ENV=production: the household speaks mutual TLS with a certificate from the federation's CA"),
    );
    expect(() => tlsFilesFromEnv({ NODE_ENV: 'production' }, 'gateway', pkiDir)).toThrow(ConfigError);
    const env = { NODE_ENV: 'production', PROOFLESS_TLS_CA_FILE: '/etc/ca.pem', PROOFLESS_TLS_CERT_FILE: '/etc/household.pem', PROOFLESS_TLS_KEY_FILE: '/etc/household-key.pem' };
    expect(tlsFilesFromEnv(env, 'household', pkiDir)).toEqual({ caFile: '/etc/ca.pem', certFile: '/etc/household.pem', keyFile: '/etc/household-key.pem' });
  });
});

describe('watchTlsMaterial', () => {
  const INTERVAL_MS = 20;

  /** Resolves with the next reload or error the watcher reports. */
  function nextReport(): { reloaded: Promise<TlsMaterial>; failed: Promise<Error>; onReload: (material: TlsMaterial) => void; onError: (error: Error) => void } {
    let onReload!: (material: TlsMaterial) => void;
    let onError!: (error: Error) => void;
    const reloaded = new Promise<TlsMaterial>((resolve) => (onReload = resolve));
    const failed = new Promise<Error>((resolve) => (onError = resolve));
    return { reloaded, failed, onReload, onError };
  }

  test('a certificate issued again is loaded, and current() gives it', async () => {
    const folder = copyOfCa('rotation');
    await issueCertificate(folder, 'household');
    const files = filesOf(folder, 'household');
    const report = nextReport();
    const errors: Error[] = [];
    const watcher = watchTlsMaterial(files, { intervalMs: INTERVAL_MS, onReload: report.onReload, onError: (error) => errors.push(error) });
    try {
      const before = watcher.current();
      await issueCertificate(folder, 'household', { days: 30 });
      const after = await report.reloaded;
      expect(after.serialNumber).not.toBe(before.serialNumber);
      expect(after.notAfter.getTime()).toBeLessThan(before.notAfter.getTime());
      expect(after.cert).toBe(readFileSync(files.certFile, 'utf8'));
      expect(watcher.current()).toBe(after);
      expect(errors).toEqual([]);
    } finally {
      watcher.close();
    }
  });

  test('a half rotation (new certificate, old key) is reported and the old set kept until the key follows', async () => {
    const folder = copyOfCa('half-rotation');
    const staging = copyOfCa('half-rotation-staging');
    await issueCertificate(folder, 'household');
    await issueCertificate(staging, 'household');
    const files = filesOf(folder, 'household');
    const report = nextReport();
    const watcher = watchTlsMaterial(files, { intervalMs: INTERVAL_MS, onReload: report.onReload, onError: report.onError });
    try {
      const before = watcher.current();
      copyFileSync(path.join(staging, 'household.pem'), files.certFile);
      const error = await report.failed;
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(`PROOFLESS_TLS_KEY_FILE ${files.keyFile}: not the private key of the certificate ${files.certFile}`);
      expect(watcher.current()).toBe(before);
      copyFileSync(path.join(staging, 'household-key.pem'), files.keyFile);
      const after = await report.reloaded;
      expect(after.serialNumber).toBe(new X509Certificate(readFileSync(path.join(staging, 'household.pem'))).serialNumber);
      expect(watcher.current()).toBe(after);
    } finally {
      watcher.close();
    }
  });

  test('a set that does not load at the start is a configuration error, not a watcher', () => {
    expect(() => watchTlsMaterial({ ...filesOf(dir, 'gateway'), keyFile: path.join(dir, 'household-key.pem') })).toThrow(
      new ConfigError(`PROOFLESS_TLS_KEY_FILE ${path.join(dir, 'household-key.pem')}: not the private key of the certificate ${path.join(dir, 'gateway.pem')}`),
    );
  });
});
