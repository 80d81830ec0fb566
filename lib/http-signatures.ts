import { randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { isArrayBuffer } from 'node:util/types';
import { contentDigestOf, contentDigestProblem } from './content-digest';
import { ConfigError } from './env';
import { isInnerList, parseDictionary, serializeInnerList, type BareItem, type Dictionary, type InnerList, type Item } from './structured-fields';
import type { TrustList } from './trust-list';

/**
 * HTTP Message Signatures (RFC 9421) with Ed25519 over every request the gateway sends a
 * department, so a department answers only the gateway and only the request the gateway
 * meant: its method, target, purpose headers and (through Content-Digest, RFC 9530) its body.
 * Only what Proofless needs is implemented: one signature, label `proofless`, plain header
 * components and five derived ones, no component parameters (`;sf`, `;key`, `;req`, `;bs`).
 */

export const SIGNATURE_LABEL = 'proofless';
/** The `tag` parameter (RFC 9421 2.3) that says the signature was made for this protocol and no other use of the key. */
const SIGNATURE_TAG = 'proofless';
const ALGORITHM = 'ed25519';

/** Components every Proofless request signature must cover (departments refuse a signature covering less). */
export const REQUIRED_COMPONENTS: readonly string[] = [
  '@method',
  '@target-uri',
  'content-digest',
  'content-type',
  'x-request-id',
  'x-service-item',
  'x-case-number',
  'x-proofless-caller',
  'x-proofless-department',
];
/** Purpose headers a request without a purpose (a readiness probe) does not carry; required when present. */
const PURPOSE_HEADERS: readonly string[] = ['x-service-item', 'x-case-number', 'x-proofless-caller'];
/**
 * The caller's token, which only the service bureau gets (it calls the gateway back with
 * it): signed whenever present, or it could be swapped under the caller the signature asserts.
 */
const CREDENTIAL_HEADERS: readonly string[] = ['authorization'];
/** Fields a department reads besides the covered ones; each must arrive once. Host makes @target-uri. */
const SIGNATURE_FIELDS: readonly string[] = ['signature', 'signature-input', 'content-digest', 'host'];
const DERIVED_COMPONENTS: readonly string[] = ['@method', '@target-uri', '@authority', '@path', '@query'];

interface SignedMessage {
  method: string;
  targetUri: string;
  header(name: string): string | undefined;
}

/**
 * The RFC 9421 signature base (Section 2.5) for `components` with the serialized
 * `@signature-params` value. Throws when the message lacks a covered component: a signature
 * over something absent cannot be checked.
 */
export function signatureBase(message: SignedMessage, components: readonly string[], signatureParams: string): string {
  const lines = components.map((name) => {
    const value = componentValue(message, name);
    if (value === undefined) throw new Error(`the signature covers ${name}, which the request does not carry`);
    return `"${name}": ${value}`;
  });
  lines.push(`"@signature-params": ${signatureParams}`);
  return lines.join('\n');
}

function componentValue(message: SignedMessage, name: string): string | undefined {
  switch (name) {
    case '@method':
      return message.method.toUpperCase();
    case '@target-uri':
      return message.targetUri;
    case '@authority':
      // WHATWG URL lower-cases the host and drops the scheme's default port, as RFC 9421 2.2.3 asks.
      return new URL(message.targetUri).host;
    case '@path':
      return new URL(message.targetUri).pathname || '/';
    case '@query':
      // RFC 9421 2.2.7: no query is the "?" alone.
      return new URL(message.targetUri).search || '?';
    default: {
      if (name.startsWith('@')) throw new Error(`the signature covers ${name}, a derived component this implementation does not know`);
      // RFC 9421 2.1: leading and trailing spaces and tabs are not part of a field's value.
      return message.header(name)?.replace(/^[ \t]+|[ \t]+$/g, '');
    }
  }
}

export interface RequestSignerOptions {
  keyId: string;
  /** Ed25519. */
  privateKey: KeyObject;
  /** Default REQUIRED_COMPONENTS and authorization; a header the request does not carry is left out, content-digest never is. */
  components?: readonly string[];
  /** expires - created, default 30. */
  lifetimeSeconds?: number;
  /** Milliseconds since 1970, default Date.now. */
  now?: () => number;
}

/** What signing one request gives: the headers to add, and the signature base signed (RFC 9421 2.5), which a department's receipt names by its SHA-256. */
export interface SignedRequest {
  /** content-digest, signature-input and signature. */
  headers: Record<string, string>;
  /** The lines signed, joined by "\n", exactly as a department rebuilds them to verify. */
  signatureBase: string;
}

/**
 * Returns the headers to add to a request: content-digest (sha-256 of body), signature-input and
 * signature under label SIGNATURE_LABEL, with parameters created, expires, nonce (16 random bytes
 * base64url), keyid, alg="ed25519", tag="proofless". `headers` keys are lower-case.
 */
export function createRequestSigner(
  options: RequestSignerOptions,
): (request: { method: string; targetUri: string; headers: Record<string, string>; body: string | Buffer }) => Record<string, string> {
  const signer = createBaseKeepingSigner(options);
  return (request) => signer(request).headers;
}

/**
 * As createRequestSigner, also handing back the signature base it signed: the gateway keeps
 * it in its audit record beside the department's receipt, which names its digest (issue 18).
 */
export function createBaseKeepingSigner(
  options: RequestSignerOptions,
): (request: { method: string; targetUri: string; headers: Record<string, string>; body: string | Buffer }) => SignedRequest {
  const { keyId, privateKey } = options;
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new ConfigError(`the request-signing key must be an Ed25519 private key, got ${privateKey.type} ${privateKey.asymmetricKeyType ?? 'secret'} key`);
  }
  const lifetimeSeconds = options.lifetimeSeconds ?? 30;
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1) throw new ConfigError(`request signature lifetime must be a whole number of seconds from 1, got ${lifetimeSeconds}`);
  const components = options.components ?? [...REQUIRED_COMPONENTS, ...CREDENTIAL_HEADERS];
  const now = options.now ?? Date.now;
  return (request) => {
    const contentDigest = contentDigestOf(request.body);
    const headers: Record<string, string> = { ...request.headers, 'content-digest': contentDigest };
    const message = { method: request.method, targetUri: request.targetUri, header: (name: string) => (Object.hasOwn(headers, name) ? headers[name] : undefined) };
    const covered = components.filter((name) => name.startsWith('@') || message.header(name) !== undefined);
    const created = Math.floor(now() / 1000);
    const signatureParams = serializeInnerList([
      covered.map((name): Item => [name, new Map()]),
      new Map<string, BareItem>([
        ['created', created],
        ['expires', created + lifetimeSeconds],
        ['nonce', randomBytes(16).toString('base64url')],
        ['keyid', keyId],
        ['alg', ALGORITHM],
        ['tag', SIGNATURE_TAG],
      ]),
    ]);
    const base = signatureBase(message, covered, signatureParams);
    const signature = sign(null, Buffer.from(base), privateKey);
    return {
      headers: {
        'content-digest': contentDigest,
        'signature-input': `${SIGNATURE_LABEL}=${signatureParams}`,
        signature: `${SIGNATURE_LABEL}=:${signature.toString('base64')}:`,
      },
      signatureBase: base,
    };
  };
}

export interface VerifiedSignature {
  keyId: string;
  created: number;
  expires: number;
  nonce: string;
  covered: string[];
}

export type SignatureRefusalCode =
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_MALFORMED'
  | 'SIGNATURE_KEY_UNKNOWN'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_EXPIRED'
  | 'SIGNATURE_REPLAYED'
  | 'CONTENT_DIGEST_MISMATCH'
  | 'HEADER_DUPLICATED';

export interface RequestVerifierOptions {
  trustList: () => TrustList;
  /**
   * Default: REQUIRED_COMPONENTS minus any of x-service-item, x-case-number, x-proofless-caller
   * the request does not carry (a readiness probe has no purpose); the others always; and
   * authorization when the request carries it.
   */
  requiredComponents?: readonly string[];
  /** Longest expires - created accepted, default 300. */
  maxLifetimeSeconds?: number;
  /** How far the gateway's clock may be from the department's, default 30. */
  clockSkewSeconds?: number;
  /** Milliseconds since 1970, default Date.now. */
  now?: () => number;
  /** Nonces remembered against replay, default 100000. */
  replayCacheSize?: number;
  /** Called when a nonce still in its lifetime is forgotten to make room: that request could be replayed. Count it. */
  onNonceEvicted?: () => void;
}

/**
 * The verifier's decision. A verified one carries the signature base it verified (lines
 * joined by "\n"): what a department's receipt names, by its SHA-256, as the request it
 * answered (audit/exchange.ts DepartmentReceipt.requestDigest).
 */
export type Verdict = { ok: true; signature: VerifiedSignature; signatureBase: string } | { ok: false; code: SignatureRefusalCode; reason: string };

/**
 * Checks a request's `proofless` signature, in this order: duplicated fields, signature present,
 * well-formed, key trusted now, alg, required components covered, created/expires window,
 * signature verifies, Content-Digest matches the body, nonce unseen. Cheap refusals come first;
 * a nonce is remembered only once everything else passed, so a forged request cannot burn the
 * nonce of the genuine one it copies.
 * `rawHeaders` is Node's IncomingMessage.rawHeaders: Node joins duplicates with ", " in
 * req.headers, which is how X-Road #1177 faked a sender, so duplicates are refused here.
 * `targetUri` is the URI as the department reconstructs it (scheme, Host header, path).
 */
export function createRequestVerifier(
  options: RequestVerifierOptions,
): (request: { method: string; targetUri: string; rawHeaders: readonly string[]; body: Buffer }) => Verdict {
  const maxLifetimeSeconds = options.maxLifetimeSeconds ?? 300;
  const clockSkewSeconds = options.clockSkewSeconds ?? 30;
  const now = options.now ?? Date.now;
  const replayCacheSize = options.replayCacheSize ?? 100_000;
  if (!Number.isInteger(replayCacheSize) || replayCacheSize < 1) throw new ConfigError(`the replay cache must hold a whole number of nonces from 1, got ${replayCacheSize}`);
  const nonces = createNonceMemory(replayCacheSize, options.onNonceEvicted);
  const refuse = (code: SignatureRefusalCode, reason: string): Verdict => ({ ok: false, code, reason });

  return (request) => {
    const fields = fieldsOf(request.rawHeaders);
    const required = options.requiredComponents ?? [
      ...REQUIRED_COMPONENTS.filter((name) => !PURPOSE_HEADERS.includes(name) || fields.has(name)),
      ...CREDENTIAL_HEADERS.filter((name) => fields.has(name)),
    ];
    const duplicated = firstDuplicated(fields, [...SIGNATURE_FIELDS, ...PURPOSE_HEADERS, ...CREDENTIAL_HEADERS, ...required]);
    if (duplicated) return refuse('HEADER_DUPLICATED', `the request carries ${duplicated} more than once`);

    const inputField = fields.get('signature-input')?.[0];
    const signatureField = fields.get('signature')?.[0];
    if (inputField === undefined && signatureField === undefined) return refuse('SIGNATURE_MISSING', 'the request carries no Signature-Input and Signature');
    if (inputField === undefined) return refuse('SIGNATURE_MISSING', 'the request carries a Signature but no Signature-Input');
    if (signatureField === undefined) return refuse('SIGNATURE_MISSING', 'the request carries a Signature-Input but no Signature');
    const inputs = dictionaryOf(inputField);
    if (!inputs) return refuse('SIGNATURE_MALFORMED', 'Signature-Input is not a structured dictionary (RFC 9421 4.1)');
    const signatures = dictionaryOf(signatureField);
    if (!signatures) return refuse('SIGNATURE_MALFORMED', 'Signature is not a structured dictionary (RFC 9421 4.2)');
    const input = inputs.get(SIGNATURE_LABEL);
    const signatureMember = signatures.get(SIGNATURE_LABEL);
    if (!input && !signatureMember) return refuse('SIGNATURE_MISSING', `the request carries no "${SIGNATURE_LABEL}" signature`);
    if (!input) return refuse('SIGNATURE_MALFORMED', `Signature-Input has no "${SIGNATURE_LABEL}" member to go with the Signature`);
    if (!signatureMember) return refuse('SIGNATURE_MALFORMED', `Signature has no "${SIGNATURE_LABEL}" member to go with the Signature-Input`);
    const parsed = signatureInputOf(input);
    if (typeof parsed === 'string') return refuse('SIGNATURE_MALFORMED', parsed);
    if (isInnerList(signatureMember) || !isArrayBuffer(signatureMember[0])) {
      return refuse('SIGNATURE_MALFORMED', `Signature "${SIGNATURE_LABEL}" must be a byte sequence (:base64:)`);
    }
    const signatureBytes = Buffer.from(signatureMember[0] as ArrayBuffer);
    const coveredTwice = firstDuplicated(fields, parsed.covered);
    if (coveredTwice) return refuse('HEADER_DUPLICATED', `the request carries ${coveredTwice} more than once`);

    const nowMs = now();
    const key = options.trustList().keys.get(parsed.keyId);
    if (!key) return refuse('SIGNATURE_KEY_UNKNOWN', `the signing key ${described(parsed.keyId)} is not in the trust list`);
    if (nowMs < key.validFrom.getTime()) return refuse('SIGNATURE_KEY_UNKNOWN', `the signing key "${parsed.keyId}" is not valid before ${key.validFrom.toISOString()}`);
    if (nowMs >= key.validUntil.getTime()) return refuse('SIGNATURE_KEY_UNKNOWN', `the signing key "${parsed.keyId}" was valid until ${key.validUntil.toISOString()}`);
    if (parsed.alg !== undefined && parsed.alg !== ALGORITHM) return refuse('SIGNATURE_MALFORMED', `the signature's alg must be "${ALGORITHM}", got ${described(parsed.alg)}`);
    const uncovered = required.filter((name) => !parsed.covered.includes(name));
    if (uncovered.length > 0) return refuse('SIGNATURE_MALFORMED', `the signature does not cover ${uncovered.join(', ')}`);

    const nowSeconds = nowMs / 1000;
    if (parsed.expires <= nowSeconds - clockSkewSeconds) return refuse('SIGNATURE_EXPIRED', `the signature expired at ${isoOf(parsed.expires)}`);
    if (parsed.created > nowSeconds + clockSkewSeconds) {
      return refuse('SIGNATURE_EXPIRED', `the signature was created at ${isoOf(parsed.created)}, more than ${clockSkewSeconds} seconds ahead of this department's clock`);
    }
    if (parsed.expires - parsed.created > maxLifetimeSeconds) {
      return refuse('SIGNATURE_EXPIRED', `the signature lives ${parsed.expires - parsed.created} seconds, longer than the ${maxLifetimeSeconds} allowed`);
    }

    const message = { method: request.method, targetUri: request.targetUri, header: (name: string) => fields.get(name)?.[0] };
    let base: string;
    try {
      base = signatureBase(message, parsed.covered, serializeInnerList(input));
    } catch (error) {
      return refuse('SIGNATURE_INVALID', (error as Error).message);
    }
    if (!ed25519Verifies(base, key.publicKey, signatureBytes)) return refuse('SIGNATURE_INVALID', `the signature does not verify with the key "${parsed.keyId}"`);

    const digestProblem = contentDigestProblem(message.header('content-digest'), request.body);
    if (digestProblem) return refuse('CONTENT_DIGEST_MISMATCH', digestProblem);

    if (nonces.isRemembered(parsed.nonce, nowMs)) return refuse('SIGNATURE_REPLAYED', 'the signature\'s nonce was seen before: the request is a replay');
    // Kept until no clock within the skew could still accept the signature.
    nonces.remember(parsed.nonce, (parsed.expires + clockSkewSeconds) * 1000, nowMs);
    return { ok: true, signature: { keyId: parsed.keyId, created: parsed.created, expires: parsed.expires, nonce: parsed.nonce, covered: parsed.covered }, signatureBase: base };
  };
}

interface SignatureInput {
  covered: string[];
  created: number;
  expires: number;
  nonce: string;
  keyId: string;
  alg: string | undefined;
}

/** The `proofless` member of Signature-Input, or what is wrong with it in words. */
function signatureInputOf(member: Item | InnerList): SignatureInput | string {
  if (!isInnerList(member)) return `Signature-Input "${SIGNATURE_LABEL}" must be a list of components with parameters`;
  const [items, params] = member;
  const covered: string[] = [];
  for (const [name, componentParams] of items) {
    if (typeof name !== 'string' || name !== name.toLowerCase() || componentParams.size > 0) {
      return `Signature-Input "${SIGNATURE_LABEL}" must name each component as a lower-case string without parameters`;
    }
    if (covered.includes(name)) return `Signature-Input "${SIGNATURE_LABEL}" names ${shortened(name)} twice`;
    if (name.startsWith('@') && !DERIVED_COMPONENTS.includes(name)) return `the signature covers ${shortened(name)}, a derived component this department does not check`;
    covered.push(name);
  }
  const created = params.get('created');
  const expires = params.get('expires');
  const nonce = params.get('nonce');
  const keyId = params.get('keyid');
  const alg = params.get('alg');
  const tag = params.get('tag');
  if (!isWholeNumber(created)) return `the signature's created parameter must be an integer, got ${described(created)}`;
  if (!isWholeNumber(expires)) return `the signature's expires parameter must be an integer, got ${described(expires)}`;
  if (expires <= created) return 'the signature\'s expires parameter must be after its created parameter';
  if (typeof nonce !== 'string' || nonce === '') return `the signature's nonce parameter must be a non-empty string, got ${described(nonce)}`;
  if (typeof keyId !== 'string' || keyId === '') return `the signature's keyid parameter must be a non-empty string, got ${described(keyId)}`;
  if (alg !== undefined && typeof alg !== 'string') return `the signature's alg parameter must be a string, got ${described(alg)}`;
  if (tag !== SIGNATURE_TAG) return `the signature's tag parameter must be "${SIGNATURE_TAG}", got ${described(tag)}`;
  return { covered, created, expires, nonce, keyId, alg };
}

function isWholeNumber(value: BareItem | undefined): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** A parameter value for a refusal: its type, or the value itself cut short, never a byte sequence. */
function described(value: BareItem | undefined): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(shortened(value));
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return 'a value of another type';
}

/** Text the sender chose, cut short enough for a one-line reason. */
function shortened(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function isoOf(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? `${seconds} seconds after 1970` : date.toISOString();
}

function dictionaryOf(field: string): Dictionary | undefined {
  try {
    return parseDictionary(field);
  } catch {
    return undefined;
  }
}

function ed25519Verifies(base: string, publicKey: KeyObject, signature: Buffer): boolean {
  try {
    return verify(null, Buffer.from(base), publicKey, signature);
  } catch {
    // A signature of the wrong length or a key of another type: not a valid signature.
    return false;
  }
}

/** Field lines by lower-case name, every value kept, so a duplicate can be seen. */
function fieldsOf(rawHeaders: readonly string[]): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index].toLowerCase();
    const values = fields.get(name);
    if (values) values.push(rawHeaders[index + 1]);
    else fields.set(name, [rawHeaders[index + 1]]);
  }
  return fields;
}

function firstDuplicated(fields: Map<string, string[]>, names: readonly string[]): string | undefined {
  return names.find((name) => !name.startsWith('@') && (fields.get(name)?.length ?? 0) > 1);
}

/**
 * Nonces seen, each until the time no clock within the skew would still accept its signature.
 * Bounded: expired nonces are forgotten first (Map keeps insertion order, and nonces arrive in
 * roughly expiry order); when it is still full the oldest is evicted and onEvicted told, since
 * that request could be replayed until it expires. At the defaults (100000 nonces, 30-second
 * signatures) that takes over 3000 signed requests a second to one department.
 */
function createNonceMemory(capacity: number, onEvicted?: () => void): { isRemembered(nonce: string, nowMs: number): boolean; remember(nonce: string, untilMs: number, nowMs: number): void } {
  const until = new Map<string, number>();
  return {
    isRemembered: (nonce, nowMs) => (until.get(nonce) ?? 0) > nowMs,
    remember: (nonce, untilMs, nowMs) => {
      for (const [seen, expiresMs] of until) {
        if (expiresMs > nowMs) break;
        until.delete(seen);
      }
      if (until.size >= capacity) {
        until.delete(until.keys().next().value as string);
        onEvicted?.();
      }
      until.set(nonce, untilMs);
    },
  };
}
