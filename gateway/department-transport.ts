import path from 'node:path';
import { departmentKeysFileFromEnv } from '../audit/access-log-config';
import { ConfigError } from '../lib/env';
import { certificateExpiry, expiryWarningWords, federationTransportFromEnv, plainHttpWarning, type FederationTransport } from '../lib/federation-transport';
import { createBaseKeepingSigner } from '../lib/http-signatures';
import type { Logger } from '../lib/logger';
import { watchTlsMaterial, type TlsMaterial } from '../lib/tls-files';
import { ensureDevelopmentSigningKey, loadSigningKey, watchTrustList } from '../lib/trust-list';
import type { RequestSigner } from './data-source';
import type { DepartmentClientTls } from './department-fetch';
import { receiptChecker, type ReceiptChecker } from './receipts';

/** How the gateway reaches departments: mutual TLS and a signature on every request. */
export interface DepartmentTransportConfig extends FederationTransport {
  /** PROOFLESS_REQUEST_SIGNING_KEY_FILE: the gateway's Ed25519 request-signing key (PEM); made in `<pki>/gateway-signing-key.pem` in development, required in production. */
  signingKeyFile: string;
  /** PROOFLESS_REQUEST_SIGNING_KEY_ID: the key's ID in departments' trust lists; required with the key file. */
  signingKeyId: string;
  /** PROOFLESS_DEPARTMENT_KEYS_FILE: the departments' trust list their receipts and log checkpoints are checked with (audit/access-log-config.ts); watched like the departments watch theirs. */
  departmentKeysFile: string;
}

export function departmentTransportFromEnv(env: NodeJS.ProcessEnv): DepartmentTransportConfig {
  const transport = federationTransportFromEnv(env, 'gateway');
  const keyFile = env.PROOFLESS_REQUEST_SIGNING_KEY_FILE;
  const keyId = env.PROOFLESS_REQUEST_SIGNING_KEY_ID;
  if (keyFile || keyId || env.NODE_ENV === 'production') {
    if (!keyFile || !keyId) {
      throw new ConfigError('PROOFLESS_REQUEST_SIGNING_KEY_FILE and PROOFLESS_REQUEST_SIGNING_KEY_ID are required together (and in production): the key the gateway signs department requests with, and its ID in the departments\' trust lists');
    }
    return { ...transport, signingKeyFile: path.resolve(keyFile), signingKeyId: keyId, departmentKeysFile: departmentKeysFileFromEnv(env) };
  }
  const developmentKey = ensureDevelopmentSigningKey(transport.pkiDir);
  return { ...transport, signingKeyFile: developmentKey.keyFile, signingKeyId: developmentKey.keyId, departmentKeysFile: departmentKeysFileFromEnv(env) };
}

/** A certificate the gateway holds or has seen, for `/readyz` and the metrics. */
export interface CertificateExpiry {
  /** `gateway` (its own client certificate) or a department's name (the certificate it presented last). */
  name: string;
  notAfter: Date;
}

export interface DepartmentTransport {
  /** Mutual TLS to `department`; undefined under the development switch for plain HTTP. */
  tlsFor(department: string): DepartmentClientTls | undefined;
  sign: RequestSigner;
  /** Checks departments' receipts and log checkpoints against the departments' trust list as it is now. */
  receipts: ReceiptChecker;
  /** Every certificate known: the gateway's own, and each department's as last seen in a handshake. */
  certificates(): CertificateExpiry[];
  /** Days before expiry from which a certificate is reported as expiring. */
  expiryWarningDays: number;
  close(): void;
}

/**
 * Opens the gateway's side of the federation's transport: its TLS files, watched and
 * reloaded when they change (new connections present the new certificate), its
 * request-signing key, and the departments' trust list its receipts are checked with,
 * watched too (a department's new key is listed beside the old, no restart). A file that
 * cannot be read refuses the start, naming it.
 */
export function openDepartmentTransport(config: DepartmentTransportConfig, logger?: Logger, now: () => number = Date.now): DepartmentTransport {
  const signer = createBaseKeepingSigner({ keyId: config.signingKeyId, privateKey: loadSigningKey(config.signingKeyFile), now });
  // Read now: a gateway that cannot check receipts could accept no department's answer, so it does not start.
  const departmentKeys = watchTrustList(config.departmentKeysFile, {
    onReload: (list) => logger?.info({ trustList: list.file, keys: list.keys.size }, 'reloaded the departments\' trust list'),
    onError: (error) => logger?.error({ reason: error.message }, 'the departments\' trust list changed but cannot be loaded'),
  });
  const seen = new Map<string, Date>();
  const warnIfExpiring = (name: string, notAfter: Date) => {
    const { daysLeft, isExpiringSoon } = certificateExpiry(notAfter, now(), config.expiryWarningDays);
    if (isExpiringSoon) logger?.warn({ certificate: name, notAfter: notAfter.toISOString(), daysLeft }, expiryWarningWords(name, daysLeft, notAfter.getTime() <= now()));
  };
  let watched: ReturnType<typeof watchTlsMaterial> | undefined;
  if (config.tlsFiles) {
    watched = watchTlsMaterial(config.tlsFiles, {
      onReload: (material: TlsMaterial) => {
        logger?.info({ certificate: material.files.certFile, notAfter: material.notAfter.toISOString() }, 'reloaded the gateway\'s TLS certificate');
        warnIfExpiring('gateway', material.notAfter);
      },
      onError: (error: Error) => logger?.error({ reason: error.message }, 'the gateway\'s TLS files changed but cannot be loaded; keeping the previous ones'),
    });
    warnIfExpiring('gateway', watched.current().notAfter);
  } else {
    logger?.warn(plainHttpWarning('gateway'));
  }
  return {
    tlsFor(department) {
      if (!watched) return undefined;
      const material = watched;
      return {
        current: () => material.current(),
        servername: department,
        onPeerCertificate: (notAfter) => {
          const previous = seen.get(department);
          seen.set(department, notAfter);
          if (previous?.getTime() !== notAfter.getTime()) warnIfExpiring(department, notAfter);
        },
      };
    },
    sign: signer,
    receipts: receiptChecker({ trustList: departmentKeys.current, now }),
    certificates: () => [
      ...(watched ? [{ name: 'gateway', notAfter: watched.current().notAfter }] : []),
      ...[...seen].map(([name, notAfter]) => ({ name, notAfter })),
    ],
    expiryWarningDays: config.expiryWarningDays,
    close: () => {
      watched?.close();
      departmentKeys.close();
    },
  };
}

/** Seconds until each certificate expires (negative once it has), by name. */
export function secondsUntilExpiryOf(certificates: CertificateExpiry[], now: number): Record<string, number> {
  return Object.fromEntries(certificates.map(({ name, notAfter }) => [name, Math.round((notAfter.getTime() - now) / 1000)]));
}

