import { birthDateOf, checkIdNumber, genderOf, idNumberCheckCharacter } from '../lib/id-number';

const TODAY = new Date('2026-11-26T00:00:00Z');

describe('GB 11643-1999 citizen ID numbers', () => {
  test.each([
    // The two worked examples printed in GB 11643-1999 itself.
    ['11010519491231002X', '11010519491231002X'],
    ['440524188001010014', '440524188001010014'],
    // A lower-case check character is normalised.
    ['11010519491231002x', '11010519491231002X'],
  ])('%s is valid', (raw, normalised) => {
    expect(checkIdNumber(raw, TODAY)).toEqual({ ok: true, idNumber: normalised });
  });

  test('the ISO 7064 MOD 11-2 check character of the standard examples', () => {
    expect(idNumberCheckCharacter('11010519491231002')).toBe('X');
    expect(idNumberCheckCharacter('44052418800101001')).toBe('4');
  });

  test.each([
    [12345, 'must be a string, got number'],
    ['11010519491231002', 'must be 18 characters (GB 11643), got 17'],
    ['11010519491231002XX', 'must be 18 characters (GB 11643), got 19'],
    ['1101051949123100AX', "must have digits in positions 1-17 (GB 11643), got 'A' at position 17"],
    ['110105 94912310021', 'must have digits in positions 1-17 (GB 11643), got a space at position 7'],
    ['11010519491231002Y', "must end in a digit or X (GB 11643), got 'Y'"],
    ['99010519491231002X', 'must start with a GB/T 2260 province code, got 99'],
    ['110105194902300021', 'must have a real calendar date in positions 7-14 (GB 11643)'],
    ['110105203001010021', 'must have a birth date between 1800 and today in positions 7-14 (GB 11643)'],
    ['110105194912310021', 'has a wrong check character (ISO 7064 MOD 11-2): expected X, got 1'],
    ['440524188001010015', 'has a wrong check character (ISO 7064 MOD 11-2): expected 4, got 5'],
  ])('%s is refused: %s', (raw, problem) => {
    expect(checkIdNumber(raw, TODAY)).toEqual({ ok: false, problem });
  });

  test('birth date and gender are read from the number', () => {
    expect(birthDateOf('11010519491231002X')?.toISOString()).toBe('1949-12-31T00:00:00.000Z');
    expect(genderOf('11010519491231002X')).toBe('FEMALE');
    expect(genderOf('440524188001010014')).toBe('MALE');
  });
});
