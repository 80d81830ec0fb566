/**
 * Calendar arithmetic on whole days. The generator reasons in day numbers (days since
 * 1970-01-01, proleptic Gregorian) because comparing and drawing integers is cheap and
 * exact; ISO strings appear only when a row is built. A million citizens need tens of
 * millions of conversions, and going through `Date` made seeding several times slower,
 * so days from 1800 to 2199 are looked up in tables built once from Howard Hinnant's
 * `civil_from_days`.
 */

/** Days since 1970-01-01 (negative before). */
export type Day = number;

const FIRST_YEAR = 1800;
const LAST_YEAR = 2199;
const FIRST_DAY = dayFromCivil(FIRST_YEAR, 1, 1);
const DAY_COUNT = dayFromCivil(LAST_YEAR + 1, 1, 1) - FIRST_DAY;
const YEARS = new Uint16Array(DAY_COUNT);
const MONTHS = new Uint8Array(DAY_COUNT);
const DATES = new Uint8Array(DAY_COUNT);
for (let i = 0; i < DAY_COUNT; i += 1) [YEARS[i], MONTHS[i], DATES[i]] = civilFromDay(FIRST_DAY + i);
/** ISO strings by day, filled as days are first formatted. */
const ISO_DATES: (string | undefined)[] = new Array<string | undefined>(DAY_COUNT);
const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));

/** The day an ISO 'YYYY-MM-DD' date from 1800 to 2199 names, or null when it is not one. */
export function parseIsoDate(text: string): Day | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < FIRST_YEAR || year > LAST_YEAR || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return dayFromCivil(year, month, day);
}

/** 'YYYY-MM-DD'. */
export function isoDate(day: Day): string {
  const i = tableIndex(day);
  return (ISO_DATES[i] ??= `${YEARS[i]}-${TWO_DIGITS[MONTHS[i]]}-${TWO_DIGITS[DATES[i]]}`);
}

/** 'YYYYMMDD', as in the birth date inside an ID number. */
export function basicIsoDate(day: Day): string {
  const i = tableIndex(day);
  return `${YEARS[i]}${TWO_DIGITS[MONTHS[i]]}${TWO_DIGITS[DATES[i]]}`;
}

/** The instant `seconds` (under a day) into `day`, UTC, as 'YYYY-MM-DDTHH:MM:SS.000Z'. */
export function isoInstant(day: Day, seconds: number): string {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return `${isoDate(day)}T${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds % 60]}.000Z`;
}

export function yearOf(day: Day): number {
  return YEARS[tableIndex(day)];
}

/** The same month and day `years` later (or earlier); 29 February becomes 1 March in common years. */
export function addYears(day: Day, years: number): Day {
  const i = tableIndex(day);
  return dayFromCivil(YEARS[i] + years, MONTHS[i], DATES[i]);
}

/** The same day of the month `months` later; a day the target month lacks rolls into the next month. */
export function addMonths(day: Day, months: number): Day {
  const i = tableIndex(day);
  const monthIndex = YEARS[i] * 12 + (MONTHS[i] - 1) + months;
  return dayFromCivil(Math.floor(monthIndex / 12), (monthIndex % 12) + 1, DATES[i]);
}

/** Age in completed years on `on` of someone born on `birth`. */
export function fullYearsBetween(birth: Day, on: Day): number {
  const from = tableIndex(birth);
  const to = tableIndex(on);
  const isBeforeBirthday = MONTHS[to] < MONTHS[from] || (MONTHS[to] === MONTHS[from] && DATES[to] < DATES[from]);
  return YEARS[to] - YEARS[from] - (isBeforeBirthday ? 1 : 0);
}

function tableIndex(day: Day): number {
  const i = day - FIRST_DAY;
  if (!(i >= 0 && i < DAY_COUNT)) throw new RangeError(`calendar covers ${FIRST_YEAR} to ${LAST_YEAR}, got day ${day}`);
  return i;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Day number of a civil date; a day past the month's end carries into the next month, as Date.UTC does. */
function dayFromCivil(year: number, month: number, date: number): Day {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + date - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

function civilFromDay(day: Day): [number, number, number] {
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const date = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return [month <= 2 ? yearOfEra + era * 400 + 1 : yearOfEra + era * 400, month, date];
}
