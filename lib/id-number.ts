/**
 * Citizen identity numbers, GB 11643-1999: a 6-digit administrative division code
 * (GB/T 2260), an 8-digit birth date, a 3-digit sequence whose parity is the gender
 * (odd: male), and a check character computed with ISO 7064 MOD 11-2.
 *
 * Messages say what was expected and what arrived, but never echo the whole number:
 * a wrong number may still be somebody's.
 */

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARACTERS = '10X98765432';

/** Province-level prefixes of GB/T 2260 (mainland, plus 71/81/82 and 83 used for HK, Macao and Taiwan residents' numbers). */
const PROVINCE_CODES = new Set([
  '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
  '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
  '71', '81', '82', '83',
]);

/** The ISO 7064 MOD 11-2 check character for the first 17 digits. */
export function idNumberCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i];
  return CHECK_CHARACTERS[sum % 11];
}

export type IdNumberCheck = { ok: true; idNumber: string } | { ok: false; problem: string };

/**
 * Checks one ID number and returns it normalised (a lower-case `x` check character
 * becomes `X`), or the first problem found, phrased to follow the argument's name:
 * "idNumber " + problem reads as a sentence.
 */
export function checkIdNumber(raw: unknown, today: Date = new Date()): IdNumberCheck {
  if (typeof raw !== 'string') return { ok: false, problem: `must be a string, got ${raw === null ? 'null' : typeof raw}` };
  if (raw.length !== 18) return { ok: false, problem: `must be 18 characters (GB 11643), got ${raw.length}` };
  const idNumber = raw.endsWith('x') ? `${raw.slice(0, 17)}X` : raw;
  for (let i = 0; i < 17; i += 1) {
    const c = idNumber[i];
    if (c < '0' || c > '9') return { ok: false, problem: `must have digits in positions 1-17 (GB 11643), got ${describe(c)} at position ${i + 1}` };
  }
  const last = idNumber[17];
  if (!((last >= '0' && last <= '9') || last === 'X')) {
    return { ok: false, problem: `must end in a digit or X (GB 11643), got ${describe(last)}` };
  }
  if (!PROVINCE_CODES.has(idNumber.slice(0, 2))) {
    return { ok: false, problem: `must start with a GB/T 2260 province code, got ${idNumber.slice(0, 2)}` };
  }
  const birth = birthDateOf(idNumber);
  if (!birth) return { ok: false, problem: 'must have a real calendar date in positions 7-14 (GB 11643)' };
  if (birth.getTime() > today.getTime() || birth.getUTCFullYear() < 1800) {
    return { ok: false, problem: 'must have a birth date between 1800 and today in positions 7-14 (GB 11643)' };
  }
  const expected = idNumberCheckCharacter(idNumber);
  if (last !== expected) {
    return { ok: false, problem: `has a wrong check character (ISO 7064 MOD 11-2): expected ${expected}, got ${last}` };
  }
  return { ok: true, idNumber };
}

/** The birth date encoded in a well-formed number, or null when positions 7-14 are not a date. */
export function birthDateOf(idNumber: string): Date | null {
  const year = Number(idNumber.slice(6, 10));
  const month = Number(idNumber.slice(10, 12));
  const day = Number(idNumber.slice(12, 14));
  const date = new Date(Date.UTC(year, month - 1, day));
  const isSameDate = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return isSameDate ? date : null;
}

/** Gender from the parity of the sequence code (position 17). */
export function genderOf(idNumber: string): 'MALE' | 'FEMALE' {
  return Number(idNumber[16]) % 2 === 1 ? 'MALE' : 'FEMALE';
}

function describe(c: string): string {
  return c === ' ' ? 'a space' : `'${c}'`;
}
