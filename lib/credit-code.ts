/**
 * Unified social credit codes, GB 32100-2015: registration authority (1), organisation
 * type (1), GB/T 2260 division (6), organisation code (9, GB 11714), and a check
 * character computed MOD 31 over the 31-character alphabet (no I, O, S, V or Z).
 */

export const CREDIT_CODE_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
/** Registration authorities of GB 32100-2015 table 1 (1 organisation codes ... 9 market regulation, Y others). */
const AUTHORITIES = new Set('123456789AGNY'.split(''));

/** The GB 32100 check character for the first 17 characters. */
export function creditCodeCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += CREDIT_CODE_ALPHABET.indexOf(first17[i]) * WEIGHTS[i];
  return CREDIT_CODE_ALPHABET[(31 - (sum % 31)) % 31];
}

export type CreditCodeCheck = { ok: true; creditCode: string } | { ok: false; problem: string };

/** Checks one credit code (lower case is upper-cased), or returns the first problem, phrased to follow the argument's name. */
export function checkCreditCode(raw: unknown): CreditCodeCheck {
  if (typeof raw !== 'string') return { ok: false, problem: `must be a string, got ${raw === null ? 'null' : typeof raw}` };
  if (raw.length !== 18) return { ok: false, problem: `must be 18 characters (GB 32100), got ${raw.length}` };
  const creditCode = raw.toUpperCase();
  for (let i = 0; i < 18; i += 1) {
    if (!CREDIT_CODE_ALPHABET.includes(creditCode[i])) {
      return { ok: false, problem: `must use digits and capital letters other than I, O, S, V, Z (GB 32100), got '${raw[i]}' at position ${i + 1}` };
    }
  }
  if (!AUTHORITIES.has(creditCode[0])) {
    return { ok: false, problem: `must start with a registration authority code (1-9, A, G, N or Y; GB 32100), got '${creditCode[0]}'` };
  }
  const expected = creditCodeCheckCharacter(creditCode);
  if (creditCode[17] !== expected) {
    return { ok: false, problem: `has a wrong check character (GB 32100 MOD 31): expected ${expected}, got ${creditCode[17]}` };
  }
  return { ok: true, creditCode };
}
