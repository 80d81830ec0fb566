import { memoisedPseudonym, pseudonym } from '../lib/pseudonym';
import { LI_NA, ZHANG_WEI } from './fixtures/registries';

const key = Buffer.alloc(32, 7);

test('a pseudonym is 128 bits of HMAC-SHA256, base64url, stable for one key and different under another', () => {
  expect(pseudonym(key, ZHANG_WEI)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(pseudonym(key, ZHANG_WEI)).toBe(pseudonym(key, ZHANG_WEI));
  expect(pseudonym(Buffer.alloc(32, 8), ZHANG_WEI)).not.toBe(pseudonym(key, ZHANG_WEI));
});

test('the memoised form gives the same pseudonyms, before and after its oldest entries are forgotten', () => {
  const hide = memoisedPseudonym(key, 2);
  const values = [ZHANG_WEI, LI_NA, 'officer-001', ZHANG_WEI, LI_NA];
  expect(values.map(hide)).toEqual(values.map((value) => pseudonym(key, value)));
});
