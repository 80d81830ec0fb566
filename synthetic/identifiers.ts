/**
 * Identifiers the synthetic registries hand out. Each is unique by construction (a
 * counter run through a bijection), so uniqueness costs a counter per key instead of
 * a set of every number issued. Check characters come from lib/ where the standard
 * lives there; GB 11714 (organisation codes) is only needed here.
 */

import { CREDIT_CODE_ALPHABET, creditCodeCheckCharacter } from '../lib/credit-code';
import { idNumberCheckCharacter } from '../lib/id-number';
import { basicIsoDate, isoDate, parseIsoDate, type Day } from './calendar';

/** GB 11643 leaves 500 sequence codes of each parity for one division and birth date. */
const SEQUENCES_PER_GENDER = 500;
const FIRST_BIRTH = parseIsoDate('1850-01-01') as Day;
const LAST_BIRTH = parseIsoDate('2199-12-31') as Day;

/** Hands out GB 11643 ID numbers, never the same twice within one allocator. */
export class IdNumberAllocator {
  /**
   * Per division, how many numbers each birth day and gender has used, in a typed array
   * indexed by day: a million Map entries cost several times the time and memory.
   */
  private readonly issuedPerDivision = new Map<string, Uint16Array>();

  allocate(divisionCode: string, birth: Day, gender: 'MALE' | 'FEMALE'): string {
    const isMale = gender === 'MALE';
    let issuedPerDay = this.issuedPerDivision.get(divisionCode);
    if (!issuedPerDay) {
      issuedPerDay = new Uint16Array((LAST_BIRTH - FIRST_BIRTH + 1) * 2);
      this.issuedPerDivision.set(divisionCode, issuedPerDay);
    }
    if (birth < FIRST_BIRTH || birth > LAST_BIRTH) throw new RangeError(`birth dates must fall from 1850 to 2199, got ${isoDate(birth)}`);
    const index = (birth - FIRST_BIRTH) * 2 + (isMale ? 1 : 0);
    const issued = issuedPerDay[index];
    if (issued >= SEQUENCES_PER_GENDER) {
      throw new RangeError(`GB 11643 allows ${SEQUENCES_PER_GENDER} people of one gender per division and birth date; ${divisionCode} on ${isoDate(birth)} has run out`);
    }
    issuedPerDay[index] = issued + 1;
    // Police stations hand out sequence codes in blocks, not 001, 003, 005 city-wide;
    // multiplying by 211 (coprime with 500) scatters them while keeping them distinct.
    const offset = ((birth % SEQUENCES_PER_GENDER) + SEQUENCES_PER_GENDER) % SEQUENCES_PER_GENDER;
    const slot = (issued * 211 + offset) % SEQUENCES_PER_GENDER;
    const sequence = String(slot * 2 + (isMale ? 1 : 0)).padStart(3, '0');
    const first17 = divisionCode + basicIsoDate(birth) + sequence;
    return first17 + idNumberCheckCharacter(first17);
  }
}

/** Consecutive serial numbers per key (a division, a division and year), starting at 1. */
export class SerialCounter {
  private readonly lastPerKey = new Map<string, number>();

  next(key: string): number {
    const serial = (this.lastPerKey.get(key) ?? 0) + 1;
    this.lastPerKey.set(key, serial);
    return serial;
  }
}

/** Formats `serial` in `width` digits, refusing to overflow into a longer (and possibly colliding) number. */
export function fixedWidth(serial: number, width: number, what: string): string {
  const digits = String(serial);
  if (digits.length > width) throw new RangeError(`${what} ran past ${width} digits`);
  return digits.padStart(width, '0');
}

const ORGANISATION_CODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];

/** GB 11714 check character for the first 8 characters of an organisation code (digits, and letters valued A=10 … Z=35). */
export function organisationCodeCheckCharacter(first8: string): string {
  let sum = 0;
  for (let i = 0; i < 8; i += 1) {
    const code = first8.charCodeAt(i);
    const value = code <= 57 ? code - 48 : code - 55;
    sum += value * ORGANISATION_CODE_WEIGHTS[i];
  }
  const check = 11 - (sum % 11);
  if (check === 10) return 'X';
  return check === 11 ? '0' : String(check);
}

/** GB 32100 organisation types under registration authority 9 (market regulation). */
const MARKET_REGULATION_TYPES = { LIMITED_COMPANY: '1', SOLE_PROPRIETOR: '2' } as const;

const NEW_BODY_SPACE = CREDIT_CODE_ALPHABET.length ** 6;
const OLD_BODY_SPACE = 10 ** 8;
/** Scatters serials over the code space; coprime with both 31⁶ and 10⁸, so distinct serials give distinct codes. */
const SCATTER_MULTIPLIER = 7_654_321;

/**
 * A unified social credit code (GB 32100) for the business with this serial. Businesses
 * registered since the 2015 reform carry an organisation code assigned with it ('MA'
 * and six characters); older ones kept their all-digit organisation code.
 */
export function creditCode(type: keyof typeof MARKET_REGULATION_TYPES, divisionCode: string, serial: number, isRegisteredSinceReform: boolean): string {
  const space = isRegisteredSinceReform ? NEW_BODY_SPACE : OLD_BODY_SPACE;
  if (serial >= space) throw new RangeError(`credit code serial ${serial} exceeds the organisation code space`);
  const scattered = (serial * SCATTER_MULTIPLIER + 12_345) % space;
  const body = isRegisteredSinceReform ? `MA${base31(scattered, 6)}` : String(scattered).padStart(8, '0');
  const first17 = `9${MARKET_REGULATION_TYPES[type]}${divisionCode}${body}${organisationCodeCheckCharacter(body)}`;
  return first17 + creditCodeCheckCharacter(first17);
}

function base31(value: number, width: number): string {
  let text = '';
  let rest = value;
  for (let i = 0; i < width; i += 1) {
    text = CREDIT_CODE_ALPHABET[rest % 31] + text;
    rest = Math.floor(rest / 31);
  }
  return text;
}

/**
 * A food business licence number (食品经营许可证编号): 'JY', the business category digit,
 * the issuing division, a 6-digit serial and a check digit. The real check digit's
 * algorithm is not public; a Luhn digit stands in for it.
 */
export function foodLicenceNumber(category: 1 | 2, divisionCode: string, serial: number): string {
  const digits = `${category}${divisionCode}${fixedWidth(serial, 6, `food licence serials of ${divisionCode}`)}`;
  return `JY${digits}${luhnDigit(digits)}`;
}

function luhnDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    const digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    const doubled = i % 2 === 0 ? digit * 2 : digit;
    sum += doubled > 9 ? doubled - 9 : doubled;
  }
  return String((10 - (sum % 10)) % 10);
}
