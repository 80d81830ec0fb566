import { generateKeyPairSync } from 'node:crypto';
import { transportEnv } from './helpers/federation-security';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, SignJWT, type KeyLike } from 'jose';
import { createAuthenticator } from '../gateway/auth';
import { loadConfig } from '../gateway/config';

/** Production token verification: public keys only, from files, no network. */
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'proofless-keys-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const production = (env: NodeJS.ProcessEnv) => ({ NODE_ENV: 'production', PROOFLESS_DATA_DIR: dir, PROOFLESS_PSEUDONYM_KEY_FILE: pseudonymKeyFile(), ...transportEnv(), ...env });

function pseudonymKeyFile(): string {
  const file = path.join(dir, 'pseudonym-key');
  writeFileSync(file, Buffer.alloc(32, 3).toString('base64url'));
  return file;
}

function sign(key: KeyLike | Uint8Array, alg: string, kid?: string) {
  return new SignJWT({ app: 'window', role: 'service', items: ['330100-JY-0001'] })
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .setIssuer('proofless-dev')
    .setAudience('proofless-gateway')
    .setSubject('officer-9')
    .setExpirationTime('5m')
    .sign(key);
}

test.each([
  ['EdDSA (Ed25519)', 'ed25519', 'EdDSA'],
  ['ES256 (P-256)', 'ec', 'ES256'],
  ['RS256', 'rsa', 'RS256'],
] as const)('%s tokens verify against a PEM public key; HS256 tokens do not', async (_name, type, alg) => {
  const { publicKey, privateKey } = type === 'ec'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const file = path.join(dir, `${type}.pem`);
  writeFileSync(file, publicKey.export({ type: 'spki', format: 'pem' }));
  const config = loadConfig(production({ PROOFLESS_JWT_PUBLIC_KEY_FILE: file }));
  expect(config.auth.hs256Secret).toBeUndefined();
  const authenticate = createAuthenticator(config.auth);
  expect(await authenticate(`Bearer ${await sign(privateKey, alg)}`)).toEqual({
    application: 'window', officer: 'officer-9', role: 'service', serviceItems: ['330100-JY-0001'], scopes: [],
  });
  await expect(authenticate(`Bearer ${await sign(Buffer.alloc(32, 1), 'HS256')}`)).rejects.toThrow(
    'the bearer token is signed with an algorithm or key this gateway does not accept',
  );
});

test('a local JWKS file verifies by key id, for rotation without a network', async () => {
  const current = generateKeyPairSync('ed25519');
  const next = generateKeyPairSync('ed25519');
  const jwks = { keys: [{ ...(await exportJWK(current.publicKey)), kid: '2026-a' }, { ...(await exportJWK(next.publicKey)), kid: '2026-b' }] };
  const file = path.join(dir, 'jwks.json');
  writeFileSync(file, JSON.stringify(jwks));
  const authenticate = createAuthenticator(loadConfig(production({ PROOFLESS_JWKS_FILE: file })).auth);
  expect(await authenticate(`Bearer ${await sign(next.privateKey, 'EdDSA', '2026-b')}`)).toMatchObject({ officer: 'officer-9' });
  await expect(authenticate(`Bearer ${await sign(generateKeyPairSync('ed25519').privateKey, 'EdDSA', '2026-c')}`)).rejects.toThrow(
    'the bearer token is signed with an algorithm or key this gateway does not accept',
  );
});

test.each([
  [{}, 'no token verification key: set PROOFLESS_JWT_PUBLIC_KEY_FILE or PROOFLESS_JWKS_FILE'],
  [{ PROOFLESS_JWT_SECRET_FILE: '/nonexistent' }, 'PROOFLESS_JWT_SECRET_FILE (a shared HS256 secret) is for development only; in production set PROOFLESS_JWT_PUBLIC_KEY_FILE or PROOFLESS_JWKS_FILE'],
  [{ PROOFLESS_JWT_PUBLIC_KEY_FILE: '/nonexistent.pem' }, 'PROOFLESS_JWT_PUBLIC_KEY_FILE names /nonexistent.pem, which cannot be read'],
])('production configuration refuses %p', (env, message) => {
  expect(() => loadConfig(production(env))).toThrow(message);
});

test('production needs its own pseudonym key, and a Redis URL never echoes its password', () => {
  const file = path.join(dir, 'valid.pem');
  writeFileSync(file, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
  expect(() => loadConfig({ NODE_ENV: 'production', PROOFLESS_DATA_DIR: dir, PROOFLESS_JWT_PUBLIC_KEY_FILE: file, ...transportEnv() })).toThrow(
    'PROOFLESS_PSEUDONYM_KEY_FILE is required in production',
  );
  expect(() => loadConfig(production({ PROOFLESS_JWT_PUBLIC_KEY_FILE: file, PROOFLESS_REDIS_URL: 'http://user:secret@127.0.0.1' }))).toThrow(
    /^PROOFLESS_REDIS_URL must be a redis or rediss URL$/,
  );
});

describe('a verified token is remembered until it expires', () => {
  const keys = generateKeyPairSync('ed25519');
  const auth = { issuer: 'proofless-dev', audience: 'proofless-gateway', clockSkewSeconds: 30, publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }) as string };
  const issuedAt = 1_790_000_000;
  const token = (claims: { nbf?: number } = {}) =>
    new SignJWT({ app: 'window', role: 'service', ...claims })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer('proofless-dev')
      .setAudience('proofless-gateway')
      .setSubject('officer-9')
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + 300)
      .sign(keys.privateKey);

  test('past its expiry (and the skew) a remembered token is refused as expired', async () => {
    let now = (issuedAt + 10) * 1000;
    const authenticate = createAuthenticator(auth, () => now);
    const bearer = `Bearer ${await token()}`;
    expect(await authenticate(bearer)).toMatchObject({ officer: 'officer-9' });
    now = (issuedAt + 300 + 30) * 1000;
    expect(await authenticate(bearer)).toMatchObject({ officer: 'officer-9' });
    now += 1001;
    await expect(authenticate(bearer)).rejects.toThrow('the bearer token has expired');
  });

  test('a token not valid yet is refused, and accepted once its time has come', async () => {
    let now = (issuedAt + 10) * 1000;
    const authenticate = createAuthenticator(auth, () => now);
    const bearer = `Bearer ${await token({ nbf: issuedAt + 100 })}`;
    await expect(authenticate(bearer)).rejects.toThrow('the bearer token is not valid yet (nbf)');
    now = (issuedAt + 100) * 1000;
    expect(await authenticate(bearer)).toMatchObject({ officer: 'officer-9' });
  });

  test('a remembered token with its signature changed is verified afresh, and refused', async () => {
    const authenticate = createAuthenticator(auth, () => (issuedAt + 10) * 1000);
    const genuine = await token();
    expect(await authenticate(`Bearer ${genuine}`)).toMatchObject({ officer: 'officer-9' });
    const [header, payload, signature] = genuine.split('.');
    const forged = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BA' : 'AA'}`;
    await expect(authenticate(`Bearer ${forged}`)).rejects.toThrow('the bearer token\'s signature is invalid');
  });
});
