import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { asReceipt, checkReceipt, decodeHeaderValue, encodeHeaderValue, signReceipt, type UnsignedReceipt } from '../audit/receipt';
import { keyIdOf, signCheckpoint } from '../audit/signing';
import type { TrustList, TrustedKey } from '../lib/trust-list';

/**
 * A department's receipt is its signed word on one answer (audit/exchange.ts). The
 * worked example is RFC 8032's test key 1 signing the receipt's canonical JSON, computed
 * outside this code (Python `cryptography` 48: Ed25519PrivateKey.from_private_bytes(...)
 * .sign(json.dumps(members, sort_keys=True, separators=(',', ':')))), so the bytes signed
 * are a contract an auditor can check without Proofless.
 */
const RFC8032_TEST1_PKCS8 = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rHAyrn9g\n-----END PRIVATE KEY-----\n';
const privateKey = createPrivateKey(RFC8032_TEST1_PKCS8);
const publicKey = createPublicKey(privateKey);
const key = { privateKey, keyId: keyIdOf(publicKey) };

const UNSIGNED: UnsignedReceipt = {
  department: 'household', requestDigest: 'a'.repeat(64), answerDigest: 'b'.repeat(64), status: 200,
  chainId: 'household:host-1', sequence: 42, time: '2026-12-02T06:00:00.000Z',
};

function trusted(holder: string, overrides: Partial<TrustedKey> = {}): TrustList {
  const entry: TrustedKey = { keyId: 'household-1', holder, publicKey, validFrom: new Date('2026-01-01T00:00:00Z'), validUntil: new Date('2027-01-01T00:00:00Z'), ...overrides };
  return { file: 'department-keys.json', keys: new Map([[entry.keyId, entry]]) };
}

const SEEN = { department: 'household', requestDigest: 'a'.repeat(64), answerDigest: 'b'.repeat(64), status: 200 };

test('the worked example: RFC 8032 key 1 signs the canonical receipt to the signature computed outside Proofless', () => {
  const receipt = signReceipt(UNSIGNED, key);
  expect(receipt).toEqual({
    ...UNSIGNED,
    keyId: '27192a93eb61ca15f85f3cdbf3907c31c7f795ac9fc755f994d7f89ae1d7a28f',
    signature: 'Zto3OkNBvqdtXyQucK5nECOwtDn65JhJnYN7kghYGjnX4lq2l1dxmgco206yDUL0kr9Rx4mlGKpnN+CjKd34AA==',
  });
  expect(checkReceipt(receipt, SEEN, trusted('household'))).toEqual({ ok: true });
});

test('it travels in a header and comes back the same, and a header that is not one is refused', () => {
  const receipt = signReceipt(UNSIGNED, key);
  expect(asReceipt(decodeHeaderValue(encodeHeaderValue(receipt)))).toEqual(receipt);
  for (const garbage of [undefined, '', 'not base64!', Buffer.from('[1]').toString('base64url'), Buffer.from('{"department":1}').toString('base64url')]) {
    expect(asReceipt(decodeHeaderValue(garbage))).toBeNull();
  }
  expect(asReceipt({ ...receipt, extra: 'x' } as Record<string, unknown>)).toBeNull();
});

test('each thing the checker saw differently is named, and a receipt from another department, key or time is refused', () => {
  const receipt = signReceipt(UNSIGNED, key);
  const list = trusted('household');
  expect(checkReceipt(receipt, { ...SEEN, requestDigest: 'c'.repeat(64) }, list)).toEqual({ ok: false, reason: 'the receipt is for another request' });
  expect(checkReceipt(receipt, { ...SEEN, answerDigest: 'c'.repeat(64) }, list)).toEqual({ ok: false, reason: 'the receipt is for another answer: the answer\'s digest differs' });
  expect(checkReceipt(receipt, { ...SEEN, status: 400 }, list)).toEqual({ ok: false, reason: 'the receipt is for an answer with status 200, not 400' });
  expect(checkReceipt(receipt, { ...SEEN, department: 'residence' }, list)).toEqual({ ok: false, reason: 'the receipt is household\'s, not residence\'s' });
  // The key is trusted, but for another department: a department cannot vouch for another's answers.
  expect(checkReceipt(signReceipt({ ...UNSIGNED, department: 'residence' }, key), { ...SEEN, department: 'residence' }, list))
    .toEqual({ ok: false, reason: 'the receipt\'s key 27192a93eb61ca15 is not in the departments\' trust list for residence' });
  const stranger = generateKeyPairSync('ed25519');
  expect(checkReceipt(signReceipt(UNSIGNED, { privateKey: stranger.privateKey, keyId: keyIdOf(stranger.publicKey) }), SEEN, list).ok).toBe(false);
  expect(checkReceipt(receipt, SEEN, trusted('household', { validUntil: new Date('2026-12-01T00:00:00Z') })))
    .toEqual({ ok: false, reason: 'the receipt was signed at 2026-12-02T06:00:00.000Z, outside its key\'s validity' });
  expect(checkReceipt(receipt, { ...SEEN, now: Date.parse('2026-12-02T07:00:00Z') }, list)).toEqual({ ok: false, reason: 'the receipt\'s time 2026-12-02T06:00:00.000Z is too far from now' });
});

test('every signed member is covered: changing any one breaks the signature', () => {
  const receipt = signReceipt(UNSIGNED, key);
  const list = trusted('household');
  const changes: Array<Partial<UnsignedReceipt>> = [{ chainId: 'household:host-2' }, { sequence: 43 }, { time: '2026-12-02T06:00:00.001Z' }];
  for (const change of changes) expect(checkReceipt({ ...receipt, ...change }, SEEN, list)).toEqual({ ok: false, reason: 'the receipt\'s signature does not verify' });
});

test('a signature spelt another way in base64 (the same bytes, other spare bits) is refused: one receipt, one spelling', () => {
  const receipt = signReceipt(UNSIGNED, key);
  // 64 bytes in base64 end with two characters of which the last carries 4 spare bits: 'A' and 'B' decode alike.
  const respelt = `${receipt.signature.slice(0, -3)}${receipt.signature.at(-3) === 'A' ? 'B' : 'A'}==`;
  expect(Buffer.from(respelt, 'base64')).toEqual(Buffer.from(receipt.signature, 'base64'));
  expect(checkReceipt({ ...receipt, signature: respelt }, SEEN, trusted('household'))).toEqual({ ok: false, reason: 'the receipt\'s signature does not verify' });
});

test('a checkpoint signature by the same key cannot be passed off as a receipt: the signed kinds differ', () => {
  const checkpoint = signCheckpoint({ chainId: 'household:host-1', sequence: 42, hash: 'b'.repeat(64), time: UNSIGNED.time, previous: null }, key);
  expect(checkReceipt({ ...signReceipt(UNSIGNED, key), signature: checkpoint.signature }, SEEN, trusted('household')))
    .toEqual({ ok: false, reason: 'the receipt\'s signature does not verify' });
});
