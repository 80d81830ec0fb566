// @peculiar/x509 registers its algorithms through tsyringe, which needs the Reflect metadata API at
// load time; the polyfill is imported here, the one file that uses the library, before it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, KeyObject, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

// The library's types name the DOM's Crypto, which this Node project does not load; node:crypto's webcrypto is that API.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * The federation's development PKI: one CA in the data folder issues every process (gateway,
 * departments) a certificate for mutual TLS, so `npm start` needs no setup. In production the
 * organisation's CA issues them and PROOFLESS_TLS_* name the files (lib/tls-files.ts).
 */
export const CA_SUBJECT = 'CN=Proofless development CA';
export const CERTIFICATE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
/** The WebCrypto key type as the library's (DOM) types name it. */
type SigningKey = x509.X509CertificateCreateWithKeyParams['signingKey'];
const DAY_MS = 24 * 60 * 60 * 1000;
const CA_DAYS = 3650;
const DEFAULT_DAYS = 397;
/** A certificate with fewer days left than this is re-issued by ensureDevelopmentPki. */
const RENEW_WITHIN_DAYS = 30;
/** Backdating notBefore tolerates clocks a little behind the issuer's. */
const BACKDATE_MS = 60 * 1000;
const MAX_DAYS = CA_DAYS;
/** A DNS host name: dot-separated labels of letters, digits and inner hyphens. */
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const LOCK_WAIT_MS = 50;
const LOCK_TIMEOUT_MS = 30_000;

/** `<dataDir>/pki`: where development certificates live. */
export function pkiDirOf(dataDir: string): string {
  return path.join(dataDir, 'pki');
}

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  notAfter: Date;
}

/**
 * Development: makes the CA (<dir>/ca.pem, <dir>/ca-key.pem) if either is missing, then for
 * each name a certificate (<dir>/<name>.pem, <dir>/<name>-key.pem) unless one exists that the
 * present CA issued, names the name, has its key beside it and is valid for at least 30 more
 * days. Processes started together may call it at once: a lock file in <dir> lets one work at
 * a time, so no one sees a CA key and a CA certificate from two different runs.
 */
export async function ensureDevelopmentPki(dir: string, names: readonly string[], options: { now?: Date } = {}): Promise<Record<string, IssuedCertificate>> {
  for (const name of names) checkName(name);
  const now = options.now ?? new Date();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return withLock(dir, async () => {
    const { certFile: caFile, keyFile: caKeyFile } = filesOf(dir, 'ca');
    if (!existsSync(caFile) || !existsSync(caKeyFile)) await createCa(dir, now);
    const ca = new X509Certificate(readFileSync(caFile));
    const issued: Record<string, IssuedCertificate> = {};
    for (const name of names) {
      issued[name] = usableCertificate(dir, name, ca, now) ?? (await issueCertificate(dir, name, { now }));
    }
    return issued;
  });
}

/**
 * Issues (or re-issues) <dir>/<name>.pem + <dir>/<name>-key.pem with the CA in <dir>. Both
 * usages are granted: the gateway is a client of departments and may serve TLS itself.
 */
export async function issueCertificate(dir: string, name: string, options: { days?: number; extraDnsNames?: string[]; now?: Date } = {}): Promise<IssuedCertificate> {
  checkName(name);
  const days = options.days ?? DEFAULT_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) throw new RangeError(`days must be a whole number from 1 to ${MAX_DAYS}, got ${days}`);
  const extraDnsNames = options.extraDnsNames ?? [];
  for (const dnsName of extraDnsNames) {
    if (!DNS_NAME.test(dnsName)) throw new RangeError(`an extra DNS name must be a host name such as "household.city.internal", got "${dnsName}"`);
  }
  const ca = await readCa(dir);
  const notBefore = certificateTime((options.now ?? new Date()).getTime() - BACKDATE_MS);
  const notAfter = new Date(notBefore.getTime() + days * DAY_MS);
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const dnsNames = [...new Set([name, 'localhost', ...extraDnsNames])];
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: `CN=${name}`,
    issuer: ca.certificate.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
    ],
  });
  const files = filesOf(dir, name);
  // The key first: a watcher that sees the new certificate beside the old key reports a half rotation and waits for the next change.
  writeAtomically(files.keyFile, KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  writeAtomically(files.certFile, certificate.toString('pem'), 0o644);
  return { ...files, notAfter };
}

/** Input out of shape is a RangeError, so a command line can tell it from a failure (scripts/pki.ts). */
function checkName(name: string): void {
  if (name === 'ca') throw new RangeError('"ca" names the CA\'s own files (ca.pem, ca-key.pem) and cannot be issued a certificate');
  if (!CERTIFICATE_NAME_PATTERN.test(name)) {
    throw new RangeError(`a certificate name must match ${CERTIFICATE_NAME_PATTERN} (a lowercase letter, then up to 62 lowercase letters, digits or hyphens), got "${name}"`);
  }
}

function filesOf(dir: string, name: string): { certFile: string; keyFile: string } {
  return { certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}-key.pem`) };
}

async function createCa(dir: string, now: Date): Promise<void> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const notBefore = certificateTime(now.getTime() - BACKDATE_MS);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: CA_SUBJECT,
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_DAYS * DAY_MS),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      // pathLen 0: the CA issues only end-entity certificates, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const files = filesOf(dir, 'ca');
  writeAtomically(files.keyFile, KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  writeAtomically(files.certFile, certificate.toString('pem'), 0o644);
}

async function readCa(dir: string): Promise<{ certificate: x509.X509Certificate; key: SigningKey }> {
  const { certFile, keyFile } = filesOf(dir, 'ca');
  for (const file of [certFile, keyFile]) {
    if (!existsSync(file)) throw new Error(`no CA in ${dir}: ${file} is missing; run "npm run pki -- init" first`);
  }
  const certificate = new x509.X509Certificate(readFileSync(certFile, 'utf8'));
  // Through node:crypto first, so a SEC1 "EC PRIVATE KEY" file serves as well as PKCS#8.
  const keyDer = createPrivateKey(readFileSync(keyFile)).export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', keyDer, KEY_ALGORITHM, false, ['sign']);
  return { certificate, key: key as unknown as SigningKey };
}

/** The existing certificate for `name`, when it still fits; undefined when it must be issued again. */
function usableCertificate(dir: string, name: string, ca: X509Certificate, now: Date): IssuedCertificate | undefined {
  const files = filesOf(dir, name);
  if (!existsSync(files.certFile) || !existsSync(files.keyFile)) return undefined;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(readFileSync(files.certFile));
    const keyMatches = createPublicKey(createPrivateKey(readFileSync(files.keyFile))).equals(certificate.publicKey);
    if (!keyMatches || !certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) return undefined;
  } catch {
    // An unreadable file is replaced like an outdated one.
    return undefined;
  }
  const notAfter = new Date(certificate.validTo);
  const namesName = certificate.checkHost(name, { wildcards: false, subject: 'never' }) === name;
  const isFreshEnough = notAfter.getTime() - now.getTime() >= RENEW_WITHIN_DAYS * DAY_MS;
  return namesName && isFreshEnough ? { ...files, notAfter } : undefined;
}

/** Whole seconds, as a certificate keeps times, so the notAfter returned is the one written. */
function certificateTime(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/** 16 random bytes, the top bit cleared so the DER integer stays positive and 16 bytes long, the next one set so it never shrinks. */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  return bytes.toString('hex');
}

/** Written beside and renamed over, so a reader sees the old file or the new one, never half of one. */
function writeAtomically(file: string, text: string, mode: number): void {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, text, { mode, flag: 'wx' });
  renameSync(temporary, file);
}

/**
 * Runs `work` holding <dir>/.lock (created exclusively, holding this process's id). A lock whose
 * process is gone is taken over; one held longer than LOCK_TIMEOUT_MS is reported.
 */
async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lockFile = path.join(dir, '.lock');
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!isHolderAlive(lockFile)) {
      rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${lockFile} is held by another process for more than ${LOCK_TIMEOUT_MS / 1000} s`);
    await delay(LOCK_WAIT_MS);
  }
  try {
    return await work();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

function isHolderAlive(lockFile: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(lockFile, 'utf8'));
  } catch {
    // Gone between the failed create and this read: try again.
    return false;
  }
  // A lock caught between its create and its write holds no number yet: its process is alive.
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
