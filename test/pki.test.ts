import { listDepartments } from '../lib/composition';
import { REPO_ROOT } from '../lib/paths';
import { CA_SUBJECT, ensureDevelopmentPki, issueCertificate, pkiDirOf } from '../lib/pki';
import * as x509 from '@peculiar/x509';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

/**
 * The federation's development PKI, proven by handshakes: a department's server that asks for
 * a client certificate from the federation's CA admits the gateway over TLS 1.3 and refuses the
 * attacker who has none, has one from another CA, or impersonates another department.
 */
const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = new Date('2026-12-01T12:00:00Z');
let root: string;
let dir: string;
let otherDir: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'proofless-pki-'));
  dir = path.join(root, 'federation');
  otherDir = path.join(root, 'attacker');
  await ensureDevelopmentPki(dir, ['gateway', 'household', 'residence']);
  await ensureDevelopmentPki(otherDir, ['gateway', 'household']);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function certificateOf(folder: string, name: string): X509Certificate {
  return new X509Certificate(readFileSync(path.join(folder, `${name}.pem`)));
}

function filesIn(folder: string): Record<string, Buffer> {
  return Object.fromEntries(readdirSync(folder).map((file) => [file, readFileSync(path.join(folder, file))]));
}

describe('the certificates', () => {
  test('pkiDirOf is the pki folder of the data folder', () => {
    expect(pkiDirOf('/srv/proofless/data')).toBe('/srv/proofless/data/pki');
  });

  test('the CA is a self-signed P-256 CA for ten years that signs only end-entity certificates', () => {
    const ca = certificateOf(dir, 'ca');
    expect(ca.subject).toBe('CN=Proofless development CA');
    expect(ca.issuer).toBe(ca.subject);
    expect(ca.ca).toBe(true);
    expect(ca.checkIssued(ca) && ca.verify(ca.publicKey)).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect((new Date(ca.validTo).getTime() - new Date(ca.validFrom).getTime()) / DAY_MS).toBe(3650);
    const parsed = new x509.X509Certificate(ca.raw);
    expect(parsed.signatureAlgorithm).toEqual({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    const basicConstraints = parsed.getExtension(x509.BasicConstraintsExtension);
    expect([basicConstraints?.ca, basicConstraints?.pathLength, basicConstraints?.critical]).toEqual([true, 0, true]);
    const keyUsage = parsed.getExtension(x509.KeyUsagesExtension);
    expect([keyUsage?.usages, keyUsage?.critical]).toEqual([x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true]);
  });

  test('a department certificate names the department, localhost and loopback, for server and client use, issued by the CA', async () => {
    const { certFile, keyFile, notAfter } = await issueCertificate(dir, 'license', { now: NOW });
    expect([certFile, keyFile]).toEqual([path.join(dir, 'license.pem'), path.join(dir, 'license-key.pem')]);
    const certificate = certificateOf(dir, 'license');
    const ca = certificateOf(dir, 'ca');
    expect(certificate.subject).toBe('CN=license');
    expect(certificate.issuer).toBe(CA_SUBJECT);
    expect(certificate.checkIssued(ca) && certificate.verify(ca.publicKey)).toBe(true);
    expect(certificate.ca).toBe(false);
    expect(certificate.subjectAltName).toBe('DNS:license, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(certificate.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(new Date(certificate.validFrom)).toEqual(new Date(NOW.getTime() - 60_000));
    expect(new Date(certificate.validTo)).toEqual(new Date(NOW.getTime() - 60_000 + 397 * DAY_MS));
    expect(notAfter).toEqual(new Date(certificate.validTo));
    // 16 bytes, positive: the top bit of the first byte is clear.
    expect(certificate.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
    const parsed = new x509.X509Certificate(certificate.raw);
    const keyUsage = parsed.getExtension(x509.KeyUsagesExtension);
    expect([keyUsage?.usages, keyUsage?.critical]).toEqual([x509.KeyUsageFlags.digitalSignature, true]);
    expect(parsed.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
  });

  test('the key is PKCS#8 PEM readable by its owner only; the certificate is PEM', () => {
    const key = readFileSync(path.join(dir, 'household-key.pem'), 'utf8');
    expect(key).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n?$/);
    expect(statSync(path.join(dir, 'household-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, 'household.pem'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(readdirSync(dir).filter((file) => file.endsWith('.tmp'))).toEqual([]);
  });

  test('extra DNS names follow the standard ones; each serial is new', async () => {
    const first = await issueCertificate(dir, 'service', { extraDnsNames: ['service.city.internal', 'bureau'] });
    const serial = new X509Certificate(readFileSync(first.certFile)).serialNumber;
    await issueCertificate(dir, 'service', { extraDnsNames: ['service.city.internal', 'bureau'] });
    const certificate = certificateOf(dir, 'service');
    expect(certificate.subjectAltName).toBe('DNS:service, DNS:localhost, DNS:service.city.internal, DNS:bureau, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(certificate.serialNumber).not.toBe(serial);
  });

  test('a name, a validity or a DNS name out of shape is refused, saying what was expected', async () => {
    await expect(issueCertificate(dir, 'Household')).rejects.toThrow(
      'a certificate name must match /^[a-z][a-z0-9-]{0,62}$/ (a lowercase letter, then up to 62 lowercase letters, digits or hyphens), got "Household"',
    );
    await expect(issueCertificate(dir, '../ca')).rejects.toThrow('a certificate name must match /^[a-z][a-z0-9-]{0,62}$/ (a lowercase letter, then up to 62 lowercase letters, digits or hyphens), got "../ca"');
    await expect(issueCertificate(dir, 'ca')).rejects.toThrow(new RangeError('"ca" names the CA\'s own files (ca.pem, ca-key.pem) and cannot be issued a certificate'));
    await expect(ensureDevelopmentPki(dir, ['gateway', 'x'.repeat(64)])).rejects.toThrow(`got "${'x'.repeat(64)}"`);
    await expect(issueCertificate(dir, 'household', { days: 0 })).rejects.toThrow('days must be a whole number from 1 to 3650, got 0');
    await expect(issueCertificate(dir, 'household', { extraDnsNames: ['bad name'] })).rejects.toThrow('an extra DNS name must be a host name such as "household.city.internal", got "bad name"');
  });

  test('without a CA nothing is issued, and the message says how to make one', async () => {
    const empty = path.join(root, 'empty');
    await expect(issueCertificate(empty, 'household')).rejects.toThrow(`no CA in ${empty}: ${path.join(empty, 'ca.pem')} is missing; run "npm run pki -- init" first`);
  });
});

describe('ensureDevelopmentPki', () => {
  test('a second call leaves every file byte for byte as it was', async () => {
    const folder = path.join(root, 'idempotent');
    const first = await ensureDevelopmentPki(folder, ['gateway', 'household']);
    const before = filesIn(folder);
    const second = await ensureDevelopmentPki(folder, ['gateway', 'household']);
    expect(filesIn(folder)).toEqual(before);
    expect(Object.keys(before).sort()).toEqual(['ca-key.pem', 'ca.pem', 'gateway-key.pem', 'gateway.pem', 'household-key.pem', 'household.pem']);
    expect(second).toEqual(first);
  });

  test('processes starting together agree on one CA', async () => {
    const folder = path.join(root, 'together');
    await Promise.all([ensureDevelopmentPki(folder, ['gateway']), ensureDevelopmentPki(folder, ['household']), ensureDevelopmentPki(folder, ['gateway', 'household'])]);
    const ca = certificateOf(folder, 'ca');
    for (const name of ['gateway', 'household']) expect(certificateOf(folder, name).verify(ca.publicKey)).toBe(true);
    expect(readdirSync(folder).sort()).toEqual(['ca-key.pem', 'ca.pem', 'gateway-key.pem', 'gateway.pem', 'household-key.pem', 'household.pem']);
  });

  test('a certificate with less than 30 days left is issued again; the others are kept', async () => {
    const folder = path.join(root, 'renewal');
    await ensureDevelopmentPki(folder, ['gateway', 'household']);
    await issueCertificate(folder, 'household', { days: 29 });
    const before = filesIn(folder);
    const issued = await ensureDevelopmentPki(folder, ['gateway', 'household']);
    const after = filesIn(folder);
    expect(after['household.pem']).not.toEqual(before['household.pem']);
    expect(after['household-key.pem']).not.toEqual(before['household-key.pem']);
    expect(after['gateway.pem']).toEqual(before['gateway.pem']);
    expect(after['ca.pem']).toEqual(before['ca.pem']);
    expect(issued.household.notAfter.getTime() - Date.now()).toBeGreaterThan(396 * DAY_MS);
  });

  test('the injected clock decides what is close to expiry', async () => {
    const folder = path.join(root, 'clock');
    await ensureDevelopmentPki(folder, ['gateway'], { now: NOW });
    const before = filesIn(folder);
    await ensureDevelopmentPki(folder, ['gateway'], { now: new Date(NOW.getTime() + 366 * DAY_MS) });
    expect(filesIn(folder)['gateway.pem']).toEqual(before['gateway.pem']);
    await ensureDevelopmentPki(folder, ['gateway'], { now: new Date(NOW.getTime() + 368 * DAY_MS) });
    expect(filesIn(folder)['gateway.pem']).not.toEqual(before['gateway.pem']);
  });

  test('a certificate another CA issued, or one whose key is not beside it, is issued again', async () => {
    const folder = path.join(root, 'foreign');
    await ensureDevelopmentPki(folder, ['gateway', 'household']);
    copyFileSync(path.join(otherDir, 'gateway.pem'), path.join(folder, 'gateway.pem'));
    copyFileSync(path.join(otherDir, 'gateway-key.pem'), path.join(folder, 'gateway-key.pem'));
    rmSync(path.join(folder, 'household-key.pem'));
    await ensureDevelopmentPki(folder, ['gateway', 'household']);
    const ca = certificateOf(folder, 'ca');
    expect(certificateOf(folder, 'gateway').verify(ca.publicKey)).toBe(true);
    expect(certificateOf(folder, 'gateway').checkPrivateKey(createPrivateKey(readFileSync(path.join(folder, 'gateway-key.pem'))))).toBe(true);
    expect(certificateOf(folder, 'household').checkPrivateKey(createPrivateKey(readFileSync(path.join(folder, 'household-key.pem'))))).toBe(true);
  });

  test('a certificate named otherwise than its file is issued again', async () => {
    const folder = path.join(root, 'renamed');
    await ensureDevelopmentPki(folder, ['gateway', 'household']);
    copyFileSync(path.join(folder, 'household.pem'), path.join(folder, 'gateway.pem'));
    copyFileSync(path.join(folder, 'household-key.pem'), path.join(folder, 'gateway-key.pem'));
    await ensureDevelopmentPki(folder, ['gateway', 'household']);
    expect(certificateOf(folder, 'gateway').subject).toBe('CN=gateway');
  });
});

describe('mutual TLS with these certificates', () => {
  function read(folder: string, file: string): Buffer {
    return readFileSync(path.join(folder, file));
  }

  /** A department's server as departments run one: TLS 1.3 only, a client certificate from the federation's CA required. */
  async function departmentServer(name: string, folder = dir): Promise<{ port: number; server: tls.Server; clientErrors: Error[]; peers: string[] }> {
    const clientErrors: Error[] = [];
    const peers: string[] = [];
    const server = tls.createServer(
      { minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true, ca: read(dir, 'ca.pem'), cert: read(folder, `${name}.pem`), key: read(folder, `${name}-key.pem`) },
      (socket) => {
        peers.push(`${socket.getProtocol()} ${socket.getPeerCertificate().subject.CN}`);
        socket.end('hello');
      },
    );
    server.on('tlsClientError', (error) => clientErrors.push(error));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { port: (server.address() as AddressInfo).port, server, clientErrors, peers };
  }

  /** Connects and reads to the end; resolves with what arrived or the error the client saw. */
  function connect(port: number, options: tls.ConnectionOptions): Promise<{ data?: string; error?: NodeJS.ErrnoException }> {
    return new Promise((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'household', checkServerIdentity: tls.checkServerIdentity, ...options });
      let data = '';
      socket.on('data', (chunk) => (data += chunk));
      socket.on('error', (error) => resolve({ error }));
      socket.on('end', () => resolve({ data }));
    });
  }

  async function closeServer(server: tls.Server): Promise<void> {
    server.close();
    await once(server, 'close');
  }

  test('the gateway and a department each prove themselves to the other over TLS 1.3', async () => {
    const { port, server, peers, clientErrors } = await departmentServer('household');
    let serverSubject: string | undefined;
    const result = await new Promise<{ data?: string }>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'household', checkServerIdentity: tls.checkServerIdentity, ca: read(dir, 'ca.pem'), cert: read(dir, 'gateway.pem'), key: read(dir, 'gateway-key.pem') }, () => {
        serverSubject = `${socket.getProtocol()} ${socket.authorized} ${socket.getPeerCertificate().subject.CN}`;
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk));
      socket.on('error', reject);
      socket.on('end', () => resolve({ data }));
    });
    await closeServer(server);
    expect(result).toEqual({ data: 'hello' });
    expect(serverSubject).toBe('TLSv1.3 true household');
    expect(peers).toEqual(['TLSv1.3 gateway']);
    expect(clientErrors).toEqual([]);
  });

  test('attack: a client without a certificate is refused', async () => {
    const { port, server, peers, clientErrors } = await departmentServer('household');
    const result = await connect(port, { ca: read(dir, 'ca.pem') });
    await closeServer(server);
    // The client may see the server's alert or only the close that follows it: what it must not see is an answer.
    expect(result.data ?? '').toBe('');
    expect(peers).toEqual([]);
    expect(clientErrors.map((error) => (error as NodeJS.ErrnoException).code)).toEqual(['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE']);
  });

  test('attack: a client with a certificate from another CA is refused', async () => {
    const { port, server, peers } = await departmentServer('household');
    const result = await connect(port, { ca: read(dir, 'ca.pem'), cert: read(otherDir, 'gateway.pem'), key: read(otherDir, 'gateway-key.pem') });
    await closeServer(server);
    // The client may see the server's alert or only the close that follows it: what it must not see is an answer.
    expect(result.data ?? '').toBe('');
    // Node checks the chain once the handshake is done and destroys the socket before 'secureConnection': the handler never ran.
    expect(peers).toEqual([]);
  });

  test('attack: a server presenting another department\'s certificate is refused by the client', async () => {
    const { port, server, peers } = await departmentServer('residence');
    const result = await connect(port, { ca: read(dir, 'ca.pem'), cert: read(dir, 'gateway.pem'), key: read(dir, 'gateway-key.pem') });
    await closeServer(server);
    expect(result.error?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(result.error?.message).toBe("Hostname/IP does not match certificate's altnames: Host: household. is not in the cert's altnames: DNS:residence, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(peers).toEqual([]);
  });

  test('attack: a server with a certificate from another CA is refused by the client', async () => {
    const { port, server, peers } = await departmentServer('household', otherDir);
    const result = await connect(port, { ca: read(dir, 'ca.pem'), cert: read(dir, 'gateway.pem'), key: read(dir, 'gateway-key.pem') });
    await closeServer(server);
    expect(result.error?.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(peers).toEqual([]);
  });

  test('attack: a client that offers only TLS 1.2 is refused', async () => {
    const { port, server, peers } = await departmentServer('household');
    const result = await connect(port, { maxVersion: 'TLSv1.2', ca: read(dir, 'ca.pem'), cert: read(dir, 'gateway.pem'), key: read(dir, 'gateway-key.pem') });
    await closeServer(server);
    expect(result.error?.code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    expect(peers).toEqual([]);
  });
});

describe('npm run pki', () => {
  function pki(dataDir: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['scripts/pki.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, PROOFLESS_DATA_DIR: dataDir },
      encoding: 'utf8',
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  test('init gives the gateway and every department a certificate; show lists them; a bad name is a usage error', () => {
    const dataDir = path.join(root, 'cli');
    const names = ['gateway', ...listDepartments().map(({ name }) => name)];
    const init = pki(dataDir, 'init');
    expect([init.status, init.stderr]).toEqual([0, '']);
    expect(init.stdout.split('\n')[0]).toBe(`pki: CA ${path.join(dataDir, 'pki', 'ca.pem')}`);
    expect(init.stdout).toContain(`pki: gateway ${path.join(dataDir, 'pki', 'gateway.pem')} until `);
    for (const name of names) expect(certificateOf(pkiDirOf(dataDir), name).subject).toBe(`CN=${name}`);

    const show = pki(dataDir, 'show');
    expect([show.status, show.stderr]).toEqual([0, '']);
    const lines = show.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ca: CN=Proofless development CA, until \S+, 36\d\d days left$/);
    expect(lines.slice(1).map((line) => line.split(':')[0])).toEqual([...names].sort());
    const householdUntil = new Date(certificateOf(pkiDirOf(dataDir), 'household').validTo).toISOString();
    // Issued for 397 days from a minute ago: 396 whole days are left.
    expect(lines).toContain(`household: DNS:household, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, until ${householdUntil}, 396 days left`);

    const bad = pki(dataDir, 'issue', 'Household');
    expect(bad).toEqual({
      status: 2,
      stdout: '',
      stderr: 'pki: a certificate name must match /^[a-z][a-z0-9-]{0,62}$/ (a lowercase letter, then up to 62 lowercase letters, digits or hyphens), got "Household"; usage: npm run pki -- init | issue <name> [--days N] [--dns NAME]... | show\n',
    });
  });
});
