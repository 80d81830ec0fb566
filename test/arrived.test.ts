import { arrived } from '../lib/arrived';

test.each([
  ['not-a-date', '"not-a-date"'],
  ['last Tuesday', '"last Tuesday"'],
  ['330106197503120015', 'a text of 18 characters'],
  ['ID 33010619770820006x here', 'a text of 26 characters'],
  ['张伟', 'a text of 2 characters'],
  ['<img src=x>', 'a text of 11 characters'],
  ['say "hi"', 'a text of 8 characters'],
  ['x'.repeat(41), 'a text of 41 characters'],
  [7, '7'],
  [null, 'null'],
  [['a'], 'a list of 1'],
  [{ at: 'noon' }, 'an object'],
])('what arrived: %p is told as %s', (value, told) => {
  expect(arrived(value)).toBe(told);
});
