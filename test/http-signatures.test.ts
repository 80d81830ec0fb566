import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { contentDigestOf } from '../lib/content-digest';
import { ConfigError } from '../lib/env';
import { ErrorCode } from '../lib/error-codes';
import {
  createBaseKeepingSigner,
  createRequestSigner,
  createRequestVerifier,
  REQUIRED_COMPONENTS,
  SIGNATURE_LABEL,
  signatureBase,
  type RequestSignerOptions,
  type RequestVerifierOptions,
  type SignatureRefusalCode,
} from '../lib/http-signatures';
import { parseDictionary, serializeInnerList, type InnerList } from '../lib/structured-fields';
import type { TrustedKey, TrustList } from '../lib/trust-list';
import { B26, RFC8032_TEST_1, SECTION_2_1, SECTION_2_2, TEST_KEY_ED25519, TEST_REQUEST } from './fixtures/rfc9421';

const DAY = 24 * 3600 * 1000;
const NOW = Date.UTC(2026, 0, 15, 9, 0, 0);
const CREATED = NOW / 1000;
const gatewayKey = generateKeyPairSync('ed25519');
const strangerKey = generateKeyPairSync('ed25519');
const TARGET = 'https://household.internal:4101/graphql';
const BODY = '{"query":"{ household(idNumber: \\"110101199003074477\\") { members { name } } }"}';
const HEADERS: Record<string, string> = {
  host: 'household.internal:4101',
  'content-type': 'application/json',
  'x-request-id': 'req-0123456789',
  'x-service-item': 'newborn-registration',
  'x-case-number': 'C-2026-000123',
  'x-proofless-caller': 'clerk-0007',
  'x-proofless-department': 'household',
};
const ALL_COVERED = ['@method', '@target-uri', 'content-digest', 'content-type', 'x-request-id', 'x-service-item', 'x-case-number', 'x-proofless-caller', 'x-proofless-department'];

function trustedKey(overrides: Partial<TrustedKey> = {}): TrustedKey {
  return { keyId: 'gateway-1', holder: 'gateway', publicKey: gatewayKey.publicKey, validFrom: new Date(NOW - DAY), validUntil: new Date(NOW + DAY), ...overrides };
}

function trustListOf(...keys: TrustedKey[]): TrustList {
  return { file: 'test-trust-list.json', keys: new Map(keys.map((key) => [key.keyId, key])) };
}

/** A request as the gateway sends it: its headers plus the three the signer adds. */
function signedHeaders(options: Partial<RequestSignerOptions> = {}, headers: Record<string, string> = HEADERS, body: string = BODY): Record<string, string> {
  const signer = createRequestSigner({ keyId: 'gateway-1', privateKey: gatewayKey.privateKey, now: () => NOW, ...options });
  return { ...headers, ...signer({ method: 'POST', targetUri: TARGET, headers, body }) };
}

/** A signature made by hand over REQUIRED_COMPONENTS with the parameters given, for shapes the signer never makes. */
function handSigned(params: string, components: readonly string[] = REQUIRED_COMPONENTS): Record<string, string> {
  const headers: Record<string, string> = { ...HEADERS, 'content-digest': contentDigestOf(BODY) };
  const signatureParams = `(${components.map((name) => `"${name}"`).join(' ')})${params}`;
  const base = signatureBase({ method: 'POST', targetUri: TARGET, header: (name) => headers[name] }, components, signatureParams);
  const signature = sign(null, Buffer.from(base), gatewayKey.privateKey).toString('base64');
  return { ...headers, 'signature-input': `${SIGNATURE_LABEL}=${signatureParams}`, signature: `${SIGNATURE_LABEL}=:${signature}:` };
}

function rawHeadersOf(headers: Record<string, string>, extra: Array<[string, string]> = []): string[] {
  return [...Object.entries(headers), ...extra].flat();
}

function verifierAt(nowMs: number, options: Partial<RequestVerifierOptions> = {}) {
  return createRequestVerifier({ trustList: () => trustListOf(trustedKey()), now: () => nowMs, ...options });
}

function verified(headers: Record<string, string>, options: { at?: number; body?: string; targetUri?: string; method?: string; extra?: Array<[string, string]> } = {}) {
  return verifierAt(options.at ?? NOW)({
    method: options.method ?? 'POST',
    targetUri: options.targetUri ?? TARGET,
    rawHeaders: rawHeadersOf(headers, options.extra),
    body: Buffer.from(options.body ?? BODY),
  });
}

function refusal(code: string, reason: string) {
  return { ok: false, code, reason };
}

describe('HTTP Message Signatures (RFC 9421) with Ed25519', () => {
  describe('RFC 9421 test vectors', () => {
    const testRequest = { method: TEST_REQUEST.method, targetUri: TEST_REQUEST.targetUri, header: (name: string) => TEST_REQUEST.headers[name] };

    it('RFC 8032 7.1 TEST 1: node:crypto Ed25519 derives the published public key and signature', () => {
      // PKCS#8 for an Ed25519 seed (RFC 8410): the fixed DER prefix, then the 32-byte secret.
      const privateKey = createPrivateKey({ key: Buffer.from(`302e020100300506032b657004220420${RFC8032_TEST_1.secretKey}`, 'hex'), format: 'der', type: 'pkcs8' });
      expect(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).subarray(-32).toString('hex')).toBe(RFC8032_TEST_1.publicKey);
      expect(sign(null, Buffer.alloc(0), privateKey).toString('hex')).toBe(RFC8032_TEST_1.signature);
    });

    it('B.1.4: the published private key is the pair of the published public key', () => {
      const publicKey = createPublicKey(createPrivateKey(TEST_KEY_ED25519.privateKeyPem));
      expect(publicKey.export({ type: 'spki', format: 'pem' })).toBe(TEST_KEY_ED25519.publicKeyPem);
    });

    it('B.2.6: the signature base of test-request is the published one, byte for byte', () => {
      expect(signatureBase(testRequest, B26.components, B26.signatureParams)).toBe(B26.signatureBase);
    });

    it('B.2.6: Ed25519 over that base with test-key-ed25519 gives the published signature bytes, and they verify', () => {
      const base = Buffer.from(signatureBase(testRequest, B26.components, B26.signatureParams));
      expect(sign(null, base, createPrivateKey(TEST_KEY_ED25519.privateKeyPem)).toString('base64')).toBe(B26.signatureBase64);
      expect(verify(null, base, createPublicKey(TEST_KEY_ED25519.publicKeyPem), Buffer.from(B26.signatureBase64, 'base64'))).toBe(true);
    });

    it('B.2.6: the published Signature-Input and Signature parse and serialize back to exactly what was signed', () => {
      const input = parseDictionary(B26.signatureInput).get('sig-b26') as InnerList;
      expect(serializeInnerList(input)).toBe(B26.signatureParams);
      const signature = parseDictionary(B26.signature).get('sig-b26');
      expect(Buffer.from(signature?.[0] as ArrayBuffer).toString('base64')).toBe(B26.signatureBase64);
    });

    it('B.2.6: a changed component no longer verifies', () => {
      const changed = { ...testRequest, header: (name: string) => (name === 'content-length' ? '19' : TEST_REQUEST.headers[name]) };
      const base = Buffer.from(signatureBase(changed, B26.components, B26.signatureParams));
      expect(verify(null, base, createPublicKey(TEST_KEY_ED25519.publicKeyPem), Buffer.from(B26.signatureBase64, 'base64'))).toBe(false);
    });

    it.each(SECTION_2_2)('Section 2.2: $component of $method $targetUri', ({ method, targetUri, component, line }) => {
      expect(signatureBase({ method, targetUri, header: () => undefined }, [component], '()')).toBe(`${line}\n"@signature-params": ()`);
    });

    it('Section 2.1: a field value loses its leading and trailing whitespace, nothing inside', () => {
      const message = { method: 'GET', targetUri: 'https://www.example.com/', header: (name: string) => SECTION_2_1.headers[name] };
      expect(signatureBase(message, ['x-ows-header', 'example-dict'], '()')).toBe([...SECTION_2_1.lines, '"@signature-params": ()'].join('\n'));
    });

    it('a signature made by our signer with test-key-ed25519 verifies against a trust list holding its public key', () => {
      const signer = createRequestSigner({ keyId: TEST_KEY_ED25519.keyId, privateKey: createPrivateKey(TEST_KEY_ED25519.privateKeyPem), now: () => NOW });
      const headers = { ...HEADERS, ...signer({ method: 'POST', targetUri: TARGET, headers: HEADERS, body: BODY }) };
      const publicKey = createPublicKey(TEST_KEY_ED25519.publicKeyPem);
      const verifier = createRequestVerifier({ trustList: () => trustListOf(trustedKey({ keyId: TEST_KEY_ED25519.keyId, publicKey })), now: () => NOW });
      expect(verifier({ method: 'POST', targetUri: TARGET, rawHeaders: rawHeadersOf(headers), body: Buffer.from(BODY) })).toMatchObject({ ok: true });
    });
  });

  describe('the signer', () => {
    it('adds Content-Digest, Signature-Input and Signature under the proofless label, covering every required component', () => {
      const added = createRequestSigner({ keyId: 'gateway-1', privateKey: gatewayKey.privateKey, now: () => NOW + 999 })({ method: 'post', targetUri: TARGET, headers: HEADERS, body: BODY });
      expect(Object.keys(added)).toEqual(['content-digest', 'signature-input', 'signature']);
      expect(added['content-digest']).toBe(contentDigestOf(BODY));
      const nonce = /;nonce="([A-Za-z0-9_-]{22})";/.exec(added['signature-input'])?.[1];
      expect(added['signature-input']).toBe(
        `proofless=(${ALL_COVERED.map((name) => `"${name}"`).join(' ')});created=${CREATED};expires=${CREATED + 30};nonce="${nonce}";keyid="gateway-1";alg="ed25519";tag="proofless"`,
      );
      expect(added.signature).toMatch(/^proofless=:[A-Za-z0-9+/]{86}==:$/);
    });

    it('hands back, beside the headers, the signature base it signed: the one the signature verifies over', () => {
      const { headers, signatureBase: base } = createBaseKeepingSigner({ keyId: 'gateway-1', privateKey: gatewayKey.privateKey, now: () => NOW })({ method: 'POST', targetUri: TARGET, headers: HEADERS, body: BODY });
      const signatureInput = headers['signature-input'].slice('proofless='.length);
      const withDigest: Record<string, string> = { ...HEADERS, 'content-digest': contentDigestOf(BODY) };
      expect(base).toBe(signatureBase({ method: 'POST', targetUri: TARGET, header: (name) => withDigest[name] }, ALL_COVERED, signatureInput));
      const signature = Buffer.from(/^proofless=:(.*):$/.exec(headers.signature)?.[1] ?? '', 'base64');
      expect(verify(null, Buffer.from(base), gatewayKey.publicKey, signature)).toBe(true);
    });

    it('makes a new nonce for every request', () => {
      const nonces = [signedHeaders(), signedHeaders()].map((headers) => /nonce="([^"]+)"/.exec(headers['signature-input'])?.[1]);
      expect(nonces[0]).not.toBe(nonces[1]);
    });

    it('leaves out a header the request does not carry, but never content-digest', () => {
      const probe = { host: HEADERS.host, 'content-type': 'application/json', 'x-request-id': 'req-0123456789', 'x-proofless-department': 'household' };
      const added = createRequestSigner({ keyId: 'gateway-1', privateKey: gatewayKey.privateKey, now: () => NOW })({ method: 'POST', targetUri: TARGET, headers: probe, body: '' });
      expect(added['signature-input']).toMatch(/^proofless=\("@method" "@target-uri" "content-digest" "content-type" "x-request-id" "x-proofless-department"\);/);
    });

    it('replaces a Content-Digest the caller set with the body\'s own', () => {
      const headers = signedHeaders({}, { ...HEADERS, 'content-digest': contentDigestOf('something else') });
      expect(headers['content-digest']).toBe(contentDigestOf(BODY));
      expect(verified(headers)).toMatchObject({ ok: true });
    });

    it('refuses a key that is not an Ed25519 private key', () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const attempt = (privateKey: KeyObject) => () => createRequestSigner({ keyId: 'gateway-1', privateKey });
      expect(attempt(rsa.privateKey)).toThrow(new ConfigError('the request-signing key must be an Ed25519 private key, got private rsa key'));
      expect(attempt(gatewayKey.publicKey)).toThrow(new ConfigError('the request-signing key must be an Ed25519 private key, got public ed25519 key'));
    });
  });

  describe('the verifier accepts', () => {
    it('a request the gateway signed, and says what the signature covered and the base it verified (what a receipt names)', () => {
      const headers = signedHeaders();
      expect(verified(headers)).toEqual({
        ok: true,
        signature: { keyId: 'gateway-1', created: CREATED, expires: CREATED + 30, nonce: /nonce="([^"]+)"/.exec(headers['signature-input'])?.[1], covered: ALL_COVERED },
        signatureBase: [
          '"@method": POST',
          `"@target-uri": ${TARGET}`,
          `"content-digest": ${contentDigestOf(BODY)}`,
          '"content-type": application/json',
          '"x-request-id": req-0123456789',
          '"x-service-item": newborn-registration',
          '"x-case-number": C-2026-000123',
          '"x-proofless-caller": clerk-0007',
          '"x-proofless-department": household',
          `"@signature-params": ${headers['signature-input'].slice(`${SIGNATURE_LABEL}=`.length)}`,
        ].join('\n'),
      });
    });

    it('header names in any case, and other signature labels beside proofless', () => {
      const headers = signedHeaders();
      const upperCased = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]));
      expect(verified({ ...upperCased, 'SIGNATURE-INPUT': `other=("@method");created=1, ${headers['signature-input']}`, SIGNATURE: `other=:AAAA:, ${headers.signature}` })).toMatchObject({ ok: true });
    });

    it('a readiness probe without purpose headers', () => {
      const probe = { host: HEADERS.host, 'content-type': 'application/json', 'x-request-id': 'req-0123456789', 'x-proofless-department': 'household' };
      expect(verified(signedHeaders({}, probe, ''), { body: '' })).toMatchObject({ ok: true, signature: { covered: ['@method', '@target-uri', 'content-digest', 'content-type', 'x-request-id', 'x-proofless-department'] } });
    });

    it('a signature without alg (RFC 9421 makes it optional; the key decides)', () => {
      expect(verified(handSigned(`;created=${CREATED};expires=${CREATED + 30};nonce="n-1";keyid="gateway-1";tag="proofless"`))).toMatchObject({ ok: true });
    });

    it('clocks apart by up to the allowed skew', () => {
      expect(verified(signedHeaders(), { at: NOW + 59_000 })).toMatchObject({ ok: true });
      expect(verified(signedHeaders(), { at: NOW - 30_000 })).toMatchObject({ ok: true });
    });
  });

  describe('the attacker', () => {
    it('sends no signature', () => {
      expect(verified(HEADERS)).toEqual(refusal('SIGNATURE_MISSING', 'the request carries no Signature-Input and Signature'));
      const { signature, ...withoutSignature } = signedHeaders();
      expect(signature).toBeDefined();
      expect(verified(withoutSignature)).toEqual(refusal('SIGNATURE_MISSING', 'the request carries a Signature-Input but no Signature'));
      const { 'signature-input': input, ...withoutInput } = signedHeaders();
      expect(input).toBeDefined();
      expect(verified(withoutInput)).toEqual(refusal('SIGNATURE_MISSING', 'the request carries a Signature but no Signature-Input'));
    });

    it('sends only a signature under another label', () => {
      const headers = signedHeaders();
      const relabelled = { ...headers, 'signature-input': headers['signature-input'].replace(/^proofless=/, 'mine='), signature: headers.signature.replace(/^proofless=/, 'mine=') };
      expect(verified(relabelled)).toEqual(refusal('SIGNATURE_MISSING', 'the request carries no "proofless" signature'));
    });

    it('drops Content-Digest from a signed request', () => {
      const { 'content-digest': digest, ...withoutDigest } = signedHeaders();
      expect(digest).toBeDefined();
      expect(verified(withoutDigest)).toEqual(refusal('SIGNATURE_INVALID', 'the signature covers content-digest, which the request does not carry'));
    });

    it('signs without covering Content-Digest', () => {
      const headers = signedHeaders({ components: REQUIRED_COMPONENTS.filter((name) => name !== 'content-digest') });
      expect(verified(headers)).toEqual(refusal('SIGNATURE_MALFORMED', 'the signature does not cover content-digest'));
    });

    it('leaves a purpose header the request carries out of the signature', () => {
      const headers = signedHeaders({ components: REQUIRED_COMPONENTS.filter((name) => name !== 'x-case-number') });
      expect(verified(headers)).toEqual(refusal('SIGNATURE_MALFORMED', 'the signature does not cover x-case-number'));
    });

    it('adds a purpose header to a signed probe that had none', () => {
      const probe = { host: HEADERS.host, 'content-type': 'application/json', 'x-request-id': 'req-0123456789', 'x-proofless-department': 'household' };
      const headers = { ...signedHeaders({}, probe, ''), 'x-service-item': 'newborn-registration' };
      expect(verified(headers, { body: '' })).toEqual(refusal('SIGNATURE_MALFORMED', 'the signature does not cover x-service-item'));
    });

    it('signs with a key of its own under the gateway\'s keyid', () => {
      expect(verified(signedHeaders({ privateKey: strangerKey.privateKey }))).toEqual(refusal('SIGNATURE_INVALID', 'the signature does not verify with the key "gateway-1"'));
    });

    it('names a key the trust list does not hold', () => {
      expect(verified(signedHeaders({ keyId: 'attacker-1', privateKey: strangerKey.privateKey }))).toEqual(
        refusal('SIGNATURE_KEY_UNKNOWN', 'the signing key "attacker-1" is not in the trust list'),
      );
      expect(verified(signedHeaders({ keyId: `gateway-${'1'.repeat(100)}`, privateKey: strangerKey.privateKey }))).toEqual(
        refusal('SIGNATURE_KEY_UNKNOWN', `the signing key "gateway-${'1'.repeat(32)}..." is not in the trust list`),
      );
    });

    it('signs with a key that is not valid yet, or no longer', () => {
      const notYet = createRequestVerifier({ trustList: () => trustListOf(trustedKey({ validFrom: new Date(NOW + 1000) })), now: () => NOW });
      const lapsed = createRequestVerifier({ trustList: () => trustListOf(trustedKey({ validUntil: new Date(NOW) })), now: () => NOW });
      const request = { method: 'POST', targetUri: TARGET, rawHeaders: rawHeadersOf(signedHeaders()), body: Buffer.from(BODY) };
      expect(notYet(request)).toEqual(refusal('SIGNATURE_KEY_UNKNOWN', 'the signing key "gateway-1" is not valid before 2026-01-15T09:00:01.000Z'));
      expect(lapsed(request)).toEqual(refusal('SIGNATURE_KEY_UNKNOWN', 'the signing key "gateway-1" was valid until 2026-01-15T09:00:00.000Z'));
    });

    it('changes the body', () => {
      expect(verified(signedHeaders(), { body: BODY.replace('110101199003074477', '110101199003070000') })).toEqual(
        refusal('CONTENT_DIGEST_MISMATCH', 'Content-Digest sha-256 does not match the body'),
      );
    });

    it('changes the body and its Content-Digest', () => {
      const other = BODY.replace('110101199003074477', '110101199003070000');
      expect(verified({ ...signedHeaders(), 'content-digest': contentDigestOf(other) }, { body: other })).toEqual(
        refusal('SIGNATURE_INVALID', 'the signature does not verify with the key "gateway-1"'),
      );
    });

    it('changes a covered header, the method or the target', () => {
      const invalid = refusal('SIGNATURE_INVALID', 'the signature does not verify with the key "gateway-1"');
      expect(verified({ ...signedHeaders(), 'x-case-number': 'C-2026-999999' })).toEqual(invalid);
      expect(verified({ ...signedHeaders(), 'x-proofless-caller': 'clerk-0008' })).toEqual(invalid);
      expect(verified(signedHeaders(), { targetUri: 'https://residence.internal:4102/graphql' })).toEqual(invalid);
      expect(verified(signedHeaders(), { method: 'GET' })).toEqual(invalid);
    });

    it('sends a covered header twice, so that Node would join the two values', () => {
      expect(verified(signedHeaders(), { extra: [['x-service-item', 'tax-audit']] })).toEqual(refusal('HEADER_DUPLICATED', 'the request carries x-service-item more than once'));
      expect(verified(signedHeaders(), { extra: [['X-Case-Number', 'C-2026-999999']] })).toEqual(refusal('HEADER_DUPLICATED', 'the request carries x-case-number more than once'));
    });

    it('sends a purpose header twice on a probe whose signature covers neither copy', () => {
      const probe = { host: HEADERS.host, 'content-type': 'application/json', 'x-request-id': 'req-0123456789', 'x-proofless-department': 'household' };
      const extra: Array<[string, string]> = [['x-service-item', 'a'], ['x-service-item', 'b']];
      expect(verified(signedHeaders({}, probe, ''), { body: '', extra })).toEqual(refusal('HEADER_DUPLICATED', 'the request carries x-service-item more than once'));
    });

    it('sends a header that only this signature covers twice', () => {
      const headers = signedHeaders({ components: [...REQUIRED_COMPONENTS, 'accept'] }, { ...HEADERS, accept: 'application/json' });
      expect(verified(headers, { extra: [['accept', 'text/html']] })).toEqual(refusal('HEADER_DUPLICATED', 'the request carries accept more than once'));
    });

    it('sends a signature header, Content-Digest or Host twice', () => {
      const headers = signedHeaders();
      expect(verified(headers, { extra: [['Signature', headers.signature]] })).toEqual(refusal('HEADER_DUPLICATED', 'the request carries signature more than once'));
      expect(verified(headers, { extra: [['signature-input', headers['signature-input']]] })).toEqual(refusal('HEADER_DUPLICATED', 'the request carries signature-input more than once'));
      expect(verified(headers, { extra: [['content-digest', contentDigestOf('{}')]] })).toEqual(refusal('HEADER_DUPLICATED', 'the request carries content-digest more than once'));
      expect(verified(headers, { extra: [['host', 'residence.internal']] })).toEqual(refusal('HEADER_DUPLICATED', 'the request carries host more than once'));
    });

    it('replays a request after it expired', () => {
      expect(verified(signedHeaders(), { at: NOW + 60_000 })).toEqual(refusal('SIGNATURE_EXPIRED', 'the signature expired at 2026-01-15T09:00:30.000Z'));
    });

    it('dates a signature in the future', () => {
      expect(verified(signedHeaders({ now: () => NOW + 31_000 }))).toEqual(
        refusal('SIGNATURE_EXPIRED', 'the signature was created at 2026-01-15T09:00:31.000Z, more than 30 seconds ahead of this department\'s clock'),
      );
    });

    it('makes a signature that lives longer than allowed', () => {
      expect(verified(signedHeaders({ lifetimeSeconds: 301 }))).toEqual(refusal('SIGNATURE_EXPIRED', 'the signature lives 301 seconds, longer than the 300 allowed'));
    });

    it('replays a request within its lifetime', () => {
      const verifier = verifierAt(NOW);
      const request = { method: 'POST', targetUri: TARGET, rawHeaders: rawHeadersOf(signedHeaders()), body: Buffer.from(BODY) };
      expect(verifier(request)).toMatchObject({ ok: true });
      expect(verifier(request)).toEqual(refusal('SIGNATURE_REPLAYED', 'the signature\'s nonce was seen before: the request is a replay'));
    });

    it('sends a forged copy first, and cannot burn the genuine request\'s nonce', () => {
      const verifier = verifierAt(NOW);
      const headers = signedHeaders();
      expect(verifier({ method: 'POST', targetUri: TARGET, rawHeaders: rawHeadersOf(headers), body: Buffer.from('{}') })).toMatchObject({ ok: false, code: 'CONTENT_DIGEST_MISMATCH' });
      expect(verifier({ method: 'POST', targetUri: TARGET, rawHeaders: rawHeadersOf(headers), body: Buffer.from(BODY) })).toMatchObject({ ok: true });
    });

    it('asks for another algorithm', () => {
      expect(verified(handSigned(`;created=${CREATED};expires=${CREATED + 30};nonce="n-1";keyid="gateway-1";alg="hmac-sha256";tag="proofless"`))).toEqual(
        refusal('SIGNATURE_MALFORMED', 'the signature\'s alg must be "ed25519", got "hmac-sha256"'),
      );
    });

    it('leaves out or mistypes a parameter', () => {
      const cases: Array<[string, string]> = [
        [`;expires=${CREATED + 30};nonce="n";keyid="gateway-1";alg="ed25519";tag="proofless"`, 'the signature\'s created parameter must be an integer, got nothing'],
        [`;created=${CREATED}.5;expires=${CREATED + 30};nonce="n";keyid="gateway-1";tag="proofless"`, `the signature's created parameter must be an integer, got ${CREATED}.5`],
        [`;created=${CREATED};nonce="n";keyid="gateway-1";tag="proofless"`, 'the signature\'s expires parameter must be an integer, got nothing'],
        [`;created=${CREATED};expires=${CREATED};nonce="n";keyid="gateway-1";tag="proofless"`, 'the signature\'s expires parameter must be after its created parameter'],
        [`;created=${CREATED};expires=${CREATED + 30};keyid="gateway-1";tag="proofless"`, 'the signature\'s nonce parameter must be a non-empty string, got nothing'],
        [`;created=${CREATED};expires=${CREATED + 30};nonce=n;keyid="gateway-1";tag="proofless"`, 'the signature\'s nonce parameter must be a non-empty string, got a value of another type'],
        [`;created=${CREATED};expires=${CREATED + 30};nonce="n";tag="proofless"`, 'the signature\'s keyid parameter must be a non-empty string, got nothing'],
        [`;created=${CREATED};expires=${CREATED + 30};nonce="n";keyid="gateway-1";alg=?1;tag="proofless"`, 'the signature\'s alg parameter must be a string, got true'],
        [`;created=${CREATED};expires=${CREATED + 30};nonce="n";keyid="gateway-1"`, 'the signature\'s tag parameter must be "proofless", got nothing'],
        [`;created=${CREATED};expires=${CREATED + 30};nonce="n";keyid="gateway-1";tag="other-protocol"`, 'the signature\'s tag parameter must be "proofless", got "other-protocol"'],
      ];
      for (const [params, reason] of cases) expect(verified(handSigned(params))).toEqual(refusal('SIGNATURE_MALFORMED', reason));
    });

    it('covers components this verifier does not check, or with parameters, or twice', () => {
      const params = `;created=${CREATED};expires=${CREATED + 30};nonce="n";keyid="gateway-1";tag="proofless"`;
      const headers = handSigned(params);
      const withComponents = (components: string) => ({ ...headers, 'signature-input': `proofless=(${components})${params}` });
      expect(verified(withComponents('"@request-target" "@method"'))).toEqual(refusal('SIGNATURE_MALFORMED', 'the signature covers @request-target, a derived component this department does not check'));
      expect(verified(withComponents('"content-type";sf "@method"'))).toEqual(
        refusal('SIGNATURE_MALFORMED', 'Signature-Input "proofless" must name each component as a lower-case string without parameters'),
      );
      expect(verified(withComponents('"Content-Type"'))).toEqual(refusal('SIGNATURE_MALFORMED', 'Signature-Input "proofless" must name each component as a lower-case string without parameters'));
      expect(verified(withComponents('content-type'))).toEqual(refusal('SIGNATURE_MALFORMED', 'Signature-Input "proofless" must name each component as a lower-case string without parameters'));
      expect(verified(withComponents('"@method" "@method"'))).toEqual(refusal('SIGNATURE_MALFORMED', 'Signature-Input "proofless" names @method twice'));
    });

    it('sends signature fields that do not parse, or members of the wrong shape', () => {
      const headers = signedHeaders();
      expect(verified({ ...headers, 'signature-input': 'proofless=(' })).toEqual(refusal('SIGNATURE_MALFORMED', 'Signature-Input is not a structured dictionary (RFC 9421 4.1)'));
      expect(verified({ ...headers, signature: 'proofless=:not base64' })).toEqual(refusal('SIGNATURE_MALFORMED', 'Signature is not a structured dictionary (RFC 9421 4.2)'));
      expect(verified({ ...headers, 'signature-input': '"@method"' })).toEqual(refusal('SIGNATURE_MALFORMED', 'Signature-Input is not a structured dictionary (RFC 9421 4.1)'));
      expect(verified({ ...headers, 'signature-input': 'proofless="@method"' })).toEqual(refusal('SIGNATURE_MALFORMED', 'Signature-Input "proofless" must be a list of components with parameters'));
      expect(verified({ ...headers, signature: 'proofless="AAAA"' })).toEqual(refusal('SIGNATURE_MALFORMED', 'Signature "proofless" must be a byte sequence (:base64:)'));
      expect(verified({ ...headers, signature: 'other=:AAAA:' })).toEqual(refusal('SIGNATURE_MALFORMED', 'Signature has no "proofless" member to go with the Signature-Input'));
      expect(verified({ ...headers, 'signature-input': 'other=("@method");created=1' })).toEqual(refusal('SIGNATURE_MALFORMED', 'Signature-Input has no "proofless" member to go with the Signature'));
    });

    it('cuts the signature short', () => {
      const headers = signedHeaders();
      const half = Buffer.from(headers.signature.slice('proofless=:'.length, -1), 'base64').subarray(0, 32).toString('base64');
      expect(verified({ ...headers, signature: `proofless=:${half}:` })).toEqual(refusal('SIGNATURE_INVALID', 'the signature does not verify with the key "gateway-1"'));
    });
  });

  it('every refusal code is one of the project\'s error codes', () => {
    const codes: SignatureRefusalCode[] = ['SIGNATURE_MISSING', 'SIGNATURE_MALFORMED', 'SIGNATURE_KEY_UNKNOWN', 'SIGNATURE_INVALID', 'SIGNATURE_EXPIRED', 'SIGNATURE_REPLAYED', 'CONTENT_DIGEST_MISMATCH', 'HEADER_DUPLICATED'];
    for (const code of codes) expect(ErrorCode[code]).toBe(code);
  });

  describe('the nonce memory', () => {
    it('must hold at least one nonce', () => {
      expect(() => verifierAt(NOW, { replayCacheSize: 0 })).toThrow(new ConfigError('the replay cache must hold a whole number of nonces from 1, got 0'));
    });

    function requestAt(nowMs: number) {
      return { method: 'POST', targetUri: TARGET, rawHeaders: rawHeadersOf(signedHeaders({ now: () => nowMs })), body: Buffer.from(BODY) };
    }

    it('forgets expired nonces first', () => {
      let now = NOW;
      const evictions: number[] = [];
      const verifier = createRequestVerifier({ trustList: () => trustListOf(trustedKey()), now: () => now, replayCacheSize: 2, onNonceEvicted: () => evictions.push(now) });
      expect(verifier(requestAt(NOW))).toMatchObject({ ok: true });
      now = NOW + 60_000;
      expect(verifier(requestAt(now))).toMatchObject({ ok: true });
      expect(verifier(requestAt(now))).toMatchObject({ ok: true });
      expect(evictions).toEqual([]);
    });

    it('when full of live nonces, evicts the oldest and says so: that request could then be replayed', () => {
      const evictions: string[] = [];
      const verifier = createRequestVerifier({ trustList: () => trustListOf(trustedKey()), now: () => NOW, replayCacheSize: 2, onNonceEvicted: () => evictions.push('evicted') });
      const [first, second, third] = [requestAt(NOW), requestAt(NOW), requestAt(NOW)];
      for (const request of [first, second, third]) expect(verifier(request)).toMatchObject({ ok: true });
      expect(evictions).toEqual(['evicted']);
      expect(verifier(third)).toMatchObject({ ok: false, code: 'SIGNATURE_REPLAYED' });
      expect(verifier(first)).toMatchObject({ ok: true });
    });
  });

  describe('over a real connection', () => {
    let server: http.Server;
    let port: number;
    const verdicts: unknown[] = [];

    beforeAll(async () => {
      const verifier = createRequestVerifier({ trustList: () => trustListOf(trustedKey()), now: () => NOW });
      server = http.createServer(async (req, res) => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const targetUri = `https://${req.headers.host}${req.url}`;
        verdicts.push({ joined: req.headers['x-service-item'], verdict: verifier({ method: req.method ?? '', targetUri, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) }) });
        res.end();
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as AddressInfo).port;
    });

    afterAll(async () => {
      server.close();
      await once(server, 'close');
    });

    beforeEach(() => {
      verdicts.length = 0;
    });

    it('a request signed by the gateway and sent by Node\'s client verifies from rawHeaders', async () => {
      const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/graphql', headers: signedHeaders() });
      request.end(BODY);
      const [response] = (await once(request, 'response')) as [http.IncomingMessage];
      response.resume();
      await once(response, 'end');
      expect(verdicts).toEqual([{ joined: 'newborn-registration', verdict: expect.objectContaining({ ok: true }) }]);
    });

    it('two X-Service-Item lines on the wire, which Node joins into one value, are refused', async () => {
      const headers = signedHeaders();
      const lines = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(BODY)), connection: 'close' }).map(([name, value]) => `${name}: ${value}`);
      const socket = net.connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.end(['POST /graphql HTTP/1.1', ...lines, 'X-Service-Item: tax-audit', '', BODY].join('\r\n'));
      socket.resume();
      await once(socket, 'close');
      expect(verdicts).toEqual([
        { joined: 'newborn-registration, tax-audit', verdict: refusal('HEADER_DUPLICATED', 'the request carries x-service-item more than once') },
      ]);
    });
  });
});
