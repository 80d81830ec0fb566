import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './env';

/**
 * The files a process speaks mutual TLS with: the federation's CA (whom it trusts), its
 * certificate and its key. They are checked together where they enter, so a wrong file stops
 * the process at start with its name, not at the first handshake with a peer's vague alert.
 */
export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface TlsMaterial {
  files: TlsFiles;
  ca: string;
  cert: string;
  key: string;
  /** The certificate's SAN DNS names. */
  names: string[];
  notAfter: Date;
  /** The certificate's serial number in hex (upper case, as node:crypto gives it), to say in logs which one is in use. */
  serialNumber: string;
}

/** The environment variables whose files these are, named in every error. */
export interface TlsVariableNames {
  ca: string;
  cert: string;
  key: string;
}

export const TLS_VARIABLE_NAMES: TlsVariableNames = { ca: 'PROOFLESS_TLS_CA_FILE', cert: 'PROOFLESS_TLS_CERT_FILE', key: 'PROOFLESS_TLS_KEY_FILE' };

const DEFAULT_WATCH_INTERVAL_MS = 2000;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_PRIVATE_KEY = /-----BEGIN (?:EC |RSA |ENCRYPTED )?PRIVATE KEY-----/;

/**
 * Reads and checks the three files: each a readable PEM of its kind, the key the certificate's,
 * the certificate issued by a certificate of the CA file (which may hold several). The
 * certificate file may carry intermediates after the leaf; the first certificate is the one
 * checked. An expired certificate loads: the caller reports it (secondsUntilExpiry).
 */
export function loadTlsMaterial(files: TlsFiles, variableNames: TlsVariableNames = TLS_VARIABLE_NAMES): TlsMaterial {
  const ca = readText(files.caFile, variableNames.ca);
  const cert = readText(files.certFile, variableNames.cert);
  const key = readText(files.keyFile, variableNames.key);
  const caCertificates = certificatesIn(ca, files.caFile, variableNames.ca);
  for (const caCertificate of caCertificates) {
    if (!caCertificate.ca) throw new ConfigError(`${variableNames.ca} ${files.caFile}: not a CA certificate (${caCertificate.subject.replace(/\n/g, ', ')} has basicConstraints CA false)`);
  }
  const [certificate] = certificatesIn(cert, files.certFile, variableNames.cert);
  const privateKey = privateKeyIn(key, files.keyFile, variableNames.key);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(`${variableNames.key} ${files.keyFile}: not the private key of the certificate ${files.certFile}`);
  }
  const isIssuedByCa = caCertificates.some((caCertificate) => certificate.checkIssued(caCertificate) && certificate.verify(caCertificate.publicKey));
  if (!isIssuedByCa) throw new ConfigError(`${variableNames.cert} ${files.certFile}: not issued by the CA in ${files.caFile}`);
  return { files, ca, cert, key, names: dnsNamesOf(certificate), notAfter: new Date(certificate.validTo), serialNumber: certificate.serialNumber };
}

/**
 * Watches the three files and reloads when any changes, once all three load consistently. A
 * rotation writes them one by one: a half-rotated set calls onError (once per change) and keeps
 * the previous material until the next change completes it.
 *
 * Every `intervalMs` the files are read and compared with what was last seen, rather than
 * polled through fs.watchFile: its first stat runs after the call returns, so a rotation in
 * that window went unnoticed, and a rewrite in place within one timestamp tick looks unchanged
 * to a stat. Three small files a poll cost nothing next to a handshake. The timer does not keep
 * the process alive: the server using the material does.
 */
export function watchTlsMaterial(
  files: TlsFiles,
  options: { intervalMs?: number; onReload?: (material: TlsMaterial) => void; onError?: (error: Error) => void } = {},
): { current(): TlsMaterial; close(): void } {
  // Seen before the load: a change between the two shows at the first poll, and loading the same texts again changes nothing.
  let seen = contentsOf(files);
  let material = loadTlsMaterial(files);
  const timer = setInterval(() => {
    const contents = contentsOf(files);
    if (contents === seen) return;
    seen = contents;
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(files);
    } catch (error) {
      options.onError?.(error as Error);
      return;
    }
    if (next.ca === material.ca && next.cert === material.cert && next.key === material.key) return;
    material = next;
    options.onReload?.(material);
  }, options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS).unref();
  return {
    current: () => material,
    close: () => clearInterval(timer),
  };
}

/** The three files' texts as one string to compare; a file that cannot be read counts as its error. */
function contentsOf(files: TlsFiles): string {
  return [files.caFile, files.certFile, files.keyFile]
    .map((file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (error) {
        return `(${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`;
      }
    })
    .join('\0');
}

/** Seconds until the certificate's notAfter (negative once expired). */
export function secondsUntilExpiry(material: TlsMaterial, now: Date = new Date()): number {
  return Math.floor((material.notAfter.getTime() - now.getTime()) / 1000);
}

/**
 * The TLS files of process `name` (gateway, household, ...): PROOFLESS_TLS_CA_FILE,
 * PROOFLESS_TLS_CERT_FILE, PROOFLESS_TLS_KEY_FILE. In production (NODE_ENV=production) all
 * three are required: a development certificate there would be a CA nobody audits. In
 * development each defaults to the development PKI (lib/pki.ts): <pkiDir>/ca.pem,
 * <pkiDir>/<name>.pem, <pkiDir>/<name>-key.pem.
 */
export function tlsFilesFromEnv(env: NodeJS.ProcessEnv, name: string, pkiDir: string): TlsFiles {
  const given = { ca: env[TLS_VARIABLE_NAMES.ca], cert: env[TLS_VARIABLE_NAMES.cert], key: env[TLS_VARIABLE_NAMES.key] };
  if (env.NODE_ENV === 'production') {
    const missing = (['ca', 'cert', 'key'] as const).filter((kind) => !given[kind]).map((kind) => TLS_VARIABLE_NAMES[kind]);
    if (missing.length > 0) {
      throw new ConfigError(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} required when NODE_ENV=production: the ${name} speaks mutual TLS with a certificate from the federation's CA`);
    }
  }
  return {
    caFile: path.resolve(given.ca || path.join(pkiDir, 'ca.pem')),
    certFile: path.resolve(given.cert || path.join(pkiDir, `${name}.pem`)),
    keyFile: path.resolve(given.key || path.join(pkiDir, `${name}-key.pem`)),
  };
}

function readText(file: string, variable: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`${variable} ${file}: no such file`);
    throw new ConfigError(`${variable} ${file}: cannot be read (${code ?? (error as Error).message})`);
  }
}

/** Every PEM certificate in `text`, at least one. */
function certificatesIn(text: string, file: string, variable: string): X509Certificate[] {
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new ConfigError(`${variable} ${file}: not a PEM certificate`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new ConfigError(`${variable} ${file}: not a PEM certificate (a CERTIFICATE block that does not parse)`);
    }
  });
}

function privateKeyIn(text: string, file: string, variable: string): KeyObject {
  if (!PEM_PRIVATE_KEY.test(text)) throw new ConfigError(`${variable} ${file}: not a PEM private key`);
  try {
    return createPrivateKey(text);
  } catch (error) {
    const isEncrypted = (error as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE';
    throw new ConfigError(`${variable} ${file}: ${isEncrypted ? 'an encrypted private key; give it unencrypted, readable by this process only' : 'not a PEM private key (a PRIVATE KEY block that does not parse)'}`);
  }
}

/** The DNS entries of node:crypto's subjectAltName ("DNS:a, DNS:b, IP Address:127.0.0.1"); a name with a comma is quoted there and is no host name. */
function dnsNamesOf(certificate: X509Certificate): string[] {
  return (certificate.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice('DNS:'.length));
}
