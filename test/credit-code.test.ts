import { checkCreditCode, creditCodeCheckCharacter } from '../lib/credit-code';

describe('GB 32100-2015 unified social credit codes', () => {
  test.each([
    // Codes published on business licences: Alibaba (China) Co., Ltd., Huawei Technologies Co., Ltd., Shenzhen Tencent Computer Systems Co., Ltd.
    ['91330100716105852F', '91330100716105852F'],
    ['914403001922038216', '914403001922038216'],
    ['9144030071526726XG', '9144030071526726XG'],
    // Lower case is upper-cased.
    ['9144030071526726xg', '9144030071526726XG'],
  ])('%s is valid', (raw, normalised) => {
    expect(checkCreditCode(raw)).toEqual({ ok: true, creditCode: normalised });
  });

  test('the MOD 31 check character', () => {
    expect(creditCodeCheckCharacter('91330100716105852')).toBe('F');
    expect(creditCodeCheckCharacter('91440300192203821')).toBe('6');
  });

  test.each([
    [null, 'must be a string, got null'],
    ['91330100716105852', 'must be 18 characters (GB 32100), got 17'],
    ['91330100716I05852F', "must use digits and capital letters other than I, O, S, V, Z (GB 32100), got 'I' at position 12"],
    ['9133010071610585-F', "must use digits and capital letters other than I, O, S, V, Z (GB 32100), got '-' at position 17"],
    ['01330100716105852F', "must start with a registration authority code (1-9, A, G, N or Y; GB 32100), got '0'"],
    ['91330100716105852E', 'has a wrong check character (GB 32100 MOD 31): expected F, got E'],
  ])('%s is refused: %s', (raw, problem) => {
    expect(checkCreditCode(raw)).toEqual({ ok: false, problem });
  });
});
