import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson, type CanonicalValue } from './canonical';
import type { CheckpointLink, SignedAnchor, SignedCheckpoint } from './store';

/**
 * The log's Ed25519 keys. Checkpoints and archive anchors are signed over the canonical
 * JSON (canonical.ts) of their members plus a `kind` member, so a signature made for one
 * kind of statement can never be presented as another:
 *
 *   linked checkpoint:   {"chainId","hash","kind":"proofless-audit-linked-checkpoint",
 *                         "previousDigest","previousSequence","sequence","time"}
 *   unlinked checkpoint: {"chainId","hash","kind":"proofless-audit-checkpoint","sequence","time"}
 *   anchor:              {"chainId","firstKeptSequence","kind":"proofless-audit-anchor","previousHash","time"}
 *
 * keyId is the lowercase hex SHA-256 of the public key's SPKI DER encoding.
 *
 * Checkpoints form a chain of their own. A linked checkpoint names the chain's checkpoint
 * before it: `previousSequence` is its sequence and `previousDigest` its digest, the
 * lowercase hex SHA-256 of the canonical JSON of its signed members (kind included) plus
 * `keyId` and `signature`; both are null in the chain's first checkpoint. So a checkpoint
 * deleted from the store leaves a visible gap at the next one, which names it, and no
 * checkpoint can be swapped for another. A chain's first checkpoint is its opening one,
 * signed when a gateway first opens the chain: sequence 0, hash GENESIS_HASH.
 *
 * Unlinked checkpoints are those written before checkpoints were linked. Verification
 * accepts them only before a chain's first linked checkpoint (which then names the last
 * of them), never after one; the log signs linked checkpoints only.
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

/** The signed members of a checkpoint of either kind, as canonical.ts encodes them. */
function checkpointMembers(c: Unsigned<SignedCheckpoint>): { [member: string]: CanonicalValue } {
  const members = { chainId: c.chainId, sequence: c.sequence, hash: c.hash, time: c.time };
  if (c.previous === undefined) return { kind: 'proofless-audit-checkpoint', ...members };
  return {
    kind: 'proofless-audit-linked-checkpoint',
    ...members,
    previousSequence: c.previous?.sequence ?? null,
    previousDigest: c.previous?.digest ?? null,
  };
}

function checkpointPayload(c: Unsigned<SignedCheckpoint>): Buffer {
  return Buffer.from(canonicalJson(checkpointMembers(c)), 'utf8');
}

/** What the next checkpoint names this one by: SHA-256 of its signed members with keyId and signature. */
export function checkpointDigest(c: SignedCheckpoint): string {
  return createHash('sha256').update(canonicalJson({ ...checkpointMembers(c), keyId: c.keyId, signature: c.signature }), 'utf8').digest('hex');
}

/** How a checkpoint's successor names it. */
export function linkTo(c: SignedCheckpoint): CheckpointLink {
  return { sequence: c.sequence, digest: checkpointDigest(c) };
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
