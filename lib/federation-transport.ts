import path from 'node:path';
import { ConfigError, integerFromEnv } from './env';
import { dataDirFromEnv } from './paths';
import { tlsFilesFromEnv, type TlsFiles } from './tls-files';

/**
 * The development-only switch that lets departments and the gateway talk plain HTTP: no
 * certificates, anyone who reaches a department's port can connect (signatures are still
 * required). Its name says what it is; production refuses it; every process that honours
 * it says so in its log at start, at warn.
 */
export const PLAIN_HTTP_SWITCH = 'PROOFLESS_INSECURE_PLAIN_HTTP';

/** How one process of the federation (the gateway or a department) secures the connections between them. */
export interface FederationTransport {
  /** Where development certificates and keys are made and found: `<data dir>/pki`. */
  pkiDir: string;
  /** This process's CA, certificate and key (PROOFLESS_TLS_CA_FILE, _CERT_FILE, _KEY_FILE); absent only under PLAIN_HTTP_SWITCH. */
  tlsFiles?: TlsFiles;
  /** PROOFLESS_TLS_EXPIRY_WARNING_DAYS, default 21: from how many days before its end a certificate is reported as expiring (`/readyz`, the log). */
  expiryWarningDays: number;
}

/** `<data dir>/pki`. */
export function pkiDirFromEnv(env: NodeJS.ProcessEnv): string {
  return path.join(dataDirFromEnv(env), 'pki');
}

/** The transport of process `name` (`gateway`, `household`...), from its environment. */
export function federationTransportFromEnv(env: NodeJS.ProcessEnv, name: string): FederationTransport {
  const pkiDir = pkiDirFromEnv(env);
  const expiryWarningDays = integerFromEnv(env, 'PROOFLESS_TLS_EXPIRY_WARNING_DAYS', 21, { min: 1, max: 365 });
  const switchValue = env[PLAIN_HTTP_SWITCH];
  if (switchValue !== undefined && switchValue !== '' && switchValue !== 'true' && switchValue !== 'false') {
    throw new ConfigError(`${PLAIN_HTTP_SWITCH} must be true or false, got "${switchValue}"`);
  }
  if (switchValue === 'true') {
    if (env.NODE_ENV === 'production') throw new ConfigError(`${PLAIN_HTTP_SWITCH} is refused in production: departments and the gateway talk mutual TLS only`);
    return { pkiDir, expiryWarningDays };
  }
  return { pkiDir, tlsFiles: tlsFilesFromEnv(env, name, pkiDir), expiryWarningDays };
}

/** The line a process logs, at warn, when it runs without TLS. */
export function plainHttpWarning(name: string): string {
  return `${name}: ${PLAIN_HTTP_SWITCH}=true: INSECURE, development only: connections between the gateway and departments are plain HTTP, with no certificate checked`;
}

/** How close a certificate is to its end: whole days left (negative once past), and whether that is within the warning period. */
export function certificateExpiry(notAfter: Date, nowMs: number, warningDays: number): { daysLeft: number; isExpiringSoon: boolean } {
  const daysLeft = Math.floor((notAfter.getTime() - nowMs) / 86_400_000);
  return { daysLeft, isExpiringSoon: daysLeft < warningDays };
}

/** The words of the warning every process logs about a certificate close to its end: its own (no name) or another's. */
export function expiryWarningWords(certificate: string | undefined, daysLeft: number, hasExpired: boolean): string {
  return `the ${certificate ? `${certificate} ` : ''}TLS certificate ${hasExpired ? 'has expired' : `expires in ${daysLeft} days`}: issue a new one`;
}
