import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from './canonical';
import type { SignedAnchor, SignedCheckpoint } from './store';

/**
 * The log's Ed25519 keys. Checkpoints and archive anchors are signed over the canonical
 * JSON (canonical.ts) of their members plus a `kind` member, so a signature made for one
 * kind of statement can never be presented as the other:
 *
 *   checkpoint: {"chainId","hash","kind":"proofless-audit-checkpoint","sequence","time"}
 *   anchor:     {"chainId","firstKeptSequence","kind":"proofless-audit-anchor","previousHash","time"}
 *
 * keyId is the lowercase hex SHA-256 of the public key's SPKI DER encoding.
 */

export interface SigningKey {
  privateKey: KeyObject;
  keyId: string;
}

/** Creates an Ed25519 private key file (PKCS#8 PEM, mode 0600) when none exists; for development and first start. */
export function ensureSigningKeyFile(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  try {
    // 'wx' never replaces an existing key: two processes starting together keep the first one's.
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

export function loadSigningKey(file: string): SigningKey {
  const privateKey = createPrivateKey(readPem(file));
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${file} must hold an Ed25519 private key, got a ${privateKey.asymmetricKeyType} key`);
  }
  return { privateKey, keyId: keyIdOf(createPublicKey(privateKey)) };
}

/** A public key to verify with, from a PEM file holding either the public or the private key. */
export function loadPublicKey(file: string): KeyObject {
  const publicKey = createPublicKey(readPem(file));
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${file} must hold an Ed25519 key, got a ${publicKey.asymmetricKeyType} key`);
  }
  return publicKey;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

function readPem(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the key file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

type Unsigned<Statement> = Omit<Statement, 'keyId' | 'signature'>;

function checkpointPayload(c: Unsigned<SignedCheckpoint>): Buffer {
  return Buffer.from(canonicalJson({ kind: 'proofless-audit-checkpoint', chainId: c.chainId, sequence: c.sequence, hash: c.hash, time: c.time }), 'utf8');
}

function anchorPayload(a: Unsigned<SignedAnchor>): Buffer {
  return Buffer.from(
    canonicalJson({ kind: 'proofless-audit-anchor', chainId: a.chainId, firstKeptSequence: a.firstKeptSequence, previousHash: a.previousHash, time: a.time }),
    'utf8',
  );
}

export function signCheckpoint(checkpoint: Unsigned<SignedCheckpoint>, key: SigningKey): SignedCheckpoint {
  return { ...checkpoint, keyId: key.keyId, signature: sign(null, checkpointPayload(checkpoint), key.privateKey).toString('base64') };
}

export function signAnchor(anchor: Unsigned<SignedAnchor>, key: SigningKey): SignedAnchor {
  return { ...anchor, keyId: key.keyId, signature: sign(null, anchorPayload(anchor), key.privateKey).toString('base64') };
}

export type SignatureCheck = 'valid' | 'invalid' | 'untrusted key';

/** Trusted public keys by keyId. */
export type TrustedKeys = ReadonlyMap<string, KeyObject>;

export function trustedKeys(publicKeys: readonly KeyObject[]): TrustedKeys {
  return new Map(publicKeys.map((key) => [keyIdOf(key), key]));
}

export function checkCheckpointSignature(checkpoint: SignedCheckpoint, keys: TrustedKeys): SignatureCheck {
  return checkSignature(() => checkpointPayload(checkpoint), checkpoint, keys);
}

export function checkAnchorSignature(anchor: SignedAnchor, keys: TrustedKeys): SignatureCheck {
  return checkSignature(() => anchorPayload(anchor), anchor, keys);
}

/** A statement edited into something unencodable (a fractional sequence) is as invalid as a bad signature. */
function checkSignature(payload: () => Buffer, statement: { keyId: string; signature: string }, keys: TrustedKeys): SignatureCheck {
  const publicKey = keys.get(statement.keyId);
  if (!publicKey) return 'untrusted key';
  try {
    return verify(null, payload(), publicKey, Buffer.from(statement.signature, 'base64')) ? 'valid' : 'invalid';
  } catch {
    return 'invalid';
  }
}
