import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { ensureSigningKeyFile } from '../audit/signing';

/**
 * What a production gateway refuses to start without, made fresh for one benchmark run in
 * its own folder: an identity provider's RS256 key pair (the gateway gets the public half
 * only, as in production), the pseudonym HMAC key, the audit log's Ed25519 signing key,
 * and the service bureau's own token. RS256 because it is what identity providers issue
 * by default; the algorithm is part of what the benchmark measures.
 */
export interface BenchSecrets {
  issuer: string;
  audience: string;
  jwtPublicKeyFile: string;
  pseudonymKeyFile: string;
  /** Names and encrypts cached answers in Redis. */
  cacheKeyFile: string;
  auditKeyFile: string;
  serviceTokenFile: string;
  /** A service token granted `serviceItems`, as a service system's identity provider would issue it. */
  serviceToken(serviceItems: string[], officer: string): Promise<string>;
}

export const BENCH_ISSUER = 'https://idp.bench.proofless.invalid';
export const BENCH_AUDIENCE = 'proofless-gateway';

export async function createBenchSecrets(folder: string, catalogItems: string[]): Promise<BenchSecrets> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwtPublicKeyFile = path.join(folder, 'idp-public.pem');
  writeFileSync(jwtPublicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const pseudonymKeyFile = path.join(folder, 'pseudonym-key');
  writeFileSync(pseudonymKeyFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  const cacheKeyFile = path.join(folder, 'cache-key');
  writeFileSync(cacheKeyFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  const auditKeyFile = path.join(folder, 'audit-signing-key.pem');
  ensureSigningKeyFile(auditKeyFile);
  const serviceToken = (serviceItems: string[], officer: string) => signToken(privateKey, { app: 'bench-service-system', sub: officer, serviceItems });
  const serviceTokenFile = path.join(folder, 'service-bureau-token');
  writeFileSync(serviceTokenFile, await signToken(privateKey, { app: 'service-bureau', sub: 'commitment-follow-up', serviceItems: catalogItems }), { mode: 0o600 });
  return { issuer: BENCH_ISSUER, audience: BENCH_AUDIENCE, jwtPublicKeyFile, pseudonymKeyFile, cacheKeyFile, auditKeyFile, serviceTokenFile, serviceToken };
}

/** The claim layout the gateway reads (gateway/auth.ts); valid for a day, longer than any run. */
function signToken(privateKey: KeyObject, claims: { app: string; sub: string; serviceItems: string[] }): Promise<string> {
  return new SignJWT({ app: claims.app, role: 'service', items: claims.serviceItems, scope: '' })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer(BENCH_ISSUER)
    .setAudience(BENCH_AUDIENCE)
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime('24h')
    .sign(privateKey);
}
