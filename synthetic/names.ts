/**
 * The vocabulary of synthetic people and businesses: surnames, given-name characters,
 * ethnicities, native places, and the words business names are made of. Weights
 * follow published frequencies loosely; the aim is data that reads as real, not statistics.
 */

import { weightedChoice, type Random, type WeightedChoice } from './random';

/** Surnames weighted by share of China's population in thousandths (2020 ranking), plus Zhejiang's 俞, 楼 and 应. */
export const SURNAMES: WeightedChoice<string> = weightedChoice<string>([
  ['王', 71], ['李', 70], ['张', 67], ['刘', 54], ['陈', 46], ['杨', 31], ['黄', 22], ['赵', 21], ['吴', 20], ['周', 19],
  ['徐', 15], ['孙', 14], ['马', 14], ['朱', 13], ['胡', 12], ['郭', 11], ['何', 11], ['林', 10], ['高', 10], ['罗', 9],
  ['郑', 8], ['梁', 8], ['谢', 7], ['宋', 6], ['唐', 6], ['许', 6], ['韩', 6], ['邓', 5], ['冯', 5], ['曹', 5],
  ['彭', 5], ['曾', 5], ['肖', 5], ['田', 4], ['董', 4], ['潘', 4], ['袁', 4], ['蔡', 4], ['蒋', 4], ['余', 4],
  ['于', 4], ['杜', 4], ['叶', 4], ['程', 4], ['魏', 3], ['苏', 3], ['吕', 3], ['丁', 3], ['任', 3], ['卢', 3],
  ['姚', 3], ['沈', 3], ['钟', 3], ['姜', 3], ['崔', 3], ['谭', 3], ['陆', 3], ['范', 3], ['汪', 3], ['廖', 3],
  ['石', 3], ['金', 3], ['韦', 2], ['贾', 2], ['夏', 2], ['付', 2], ['方', 2], ['邹', 2], ['熊', 2], ['白', 2],
  ['孟', 2], ['秦', 2], ['邱', 2], ['侯', 2], ['江', 2], ['尹', 2], ['薛', 2], ['闫', 2], ['段', 2], ['雷', 2],
  ['龙', 2], ['黎', 2], ['史', 2], ['陶', 2], ['贺', 2], ['毛', 2], ['郝', 2], ['顾', 2], ['龚', 2], ['邵', 2],
  ['万', 2], ['钱', 1], ['戴', 1], ['严', 1], ['莫', 1], ['孔', 1], ['向', 1], ['汤', 1], ['俞', 1.5], ['楼', 1],
  ['应', 1], ['欧阳', 0.5], ['上官', 0.1], ['司马', 0.1], ['诸葛', 0.1],
]);

const MALE_GIVEN_NAME_CHARACTERS = [
  '伟', '强', '磊', '军', '勇', '杰', '涛', '斌', '超', '明', '刚', '平', '辉', '鹏', '华', '飞', '鑫', '波', '宇', '浩',
  '凯', '健', '俊', '帆', '旭', '宁', '龙', '林', '阳', '建', '国', '志', '文', '海', '东', '峰', '晨', '博', '轩', '睿',
  '泽', '昊', '然', '航', '天', '铭', '锦', '诚', '毅', '成', '峻', '奕', '哲', '宏', '祥', '荣', '永', '德', '卫', '兵',
];
const FEMALE_GIVEN_NAME_CHARACTERS = [
  '芳', '娜', '敏', '静', '丽', '艳', '娟', '霞', '秀', '玲', '婷', '燕', '雪', '琳', '慧', '颖', '佳', '欣', '怡', '梦',
  '晓', '倩', '莉', '萍', '红', '梅', '兰', '琴', '蕾', '悦', '诗', '涵', '雨', '萱', '可', '馨', '彤', '瑶', '思', '语',
  '欢', '嘉', '洁', '薇', '月', '英', '凤', '珍', '淑', '婉',
];
const NEUTRAL_GIVEN_NAME_CHARACTERS = ['子', '一', '安', '乐', '文', '宇', '晨', '嘉', '佳', '明', '思', '心', '若', '沐', '言'];

/** A given name of one character (a quarter of names) or two, in keeping with the gender. */
export function givenName(random: Random, gender: 'MALE' | 'FEMALE'): string {
  const own = gender === 'MALE' ? MALE_GIVEN_NAME_CHARACTERS : FEMALE_GIVEN_NAME_CHARACTERS;
  if (random.chance(0.25)) return random.pick(own);
  const first = random.chance(0.2) ? random.pick(NEUTRAL_GIVEN_NAME_CHARACTERS) : random.pick(own);
  return first + random.pick(own);
}

/** 民族: the Han majority, and minorities present in Zhejiang (畲族 is native to it) and among its migrants. */
export const ETHNICITIES: WeightedChoice<string> = weightedChoice([
  ['汉族', 970], ['畲族', 5], ['土家族', 5], ['苗族', 4], ['回族', 3], ['壮族', 3], ['满族', 3], ['布依族', 2],
  ['侗族', 2], ['彝族', 1], ['蒙古族', 1], ['朝鲜族', 1],
]);

/** 籍贯 of Hangzhou's registered population: the ancestral place, mostly Hangzhou and the rest of Zhejiang. */
export const LOCAL_NATIVE_PLACES: WeightedChoice<string> = weightedChoice([
  ['浙江杭州', 62], ['浙江绍兴', 8], ['浙江宁波', 4], ['浙江金华', 4], ['浙江湖州', 3], ['浙江嘉兴', 3],
  ['浙江温州', 2], ['浙江台州', 2], ['浙江衢州', 2], ['江苏苏州', 2], ['安徽黄山', 2], ['上海', 2],
  ['山东济南', 1], ['河南开封', 1], ['福建福州', 1], ['江西上饶', 1],
]);

/**
 * Which food business licence (食品经营许可证) a trade needs, by the licence's business
 * category digit: 1 for food sales (食品销售经营者), 2 for catering (餐饮服务经营者).
 */
export type FoodCategory = 1 | 2;

export interface Trade {
  /** The industry words ending a business name: 小吃店, 网络科技有限公司. */
  words: string;
  food: FoodCategory | null;
}

/** Trades of sole proprietors (个体工商户), food trades first among the most common, as on any Hangzhou street. */
export const SOLE_PROPRIETOR_TRADES: WeightedChoice<Trade> = weightedChoice<Trade>([
  [{ words: '小吃店', food: 2 }, 10], [{ words: '面馆', food: 2 }, 6], [{ words: '餐饮店', food: 2 }, 6],
  [{ words: '早餐店', food: 2 }, 4], [{ words: '奶茶店', food: 2 }, 3], [{ words: '烘焙店', food: 2 }, 2],
  [{ words: '便利店', food: 1 }, 8], [{ words: '超市', food: 1 }, 5], [{ words: '烟酒店', food: 1 }, 3],
  [{ words: '茶叶店', food: 1 }, 2], [{ words: '副食品店', food: 1 }, 2], [{ words: '水果店', food: null }, 4],
  [{ words: '服装店', food: null }, 6], [{ words: '理发店', food: null }, 5], [{ words: '五金店', food: null }, 3],
  [{ words: '手机维修店', food: null }, 3], [{ words: '汽车修理店', food: null }, 3], [{ words: '干洗店', food: null }, 2],
  [{ words: '鲜花店', food: null }, 2], [{ words: '文具店', food: null }, 2], [{ words: '家电维修部', food: null }, 2],
  [{ words: '建材经营部', food: null }, 2], [{ words: '电动车行', food: null }, 2],
]);

export const COMPANY_TRADES: WeightedChoice<Trade> = weightedChoice<Trade>([
  [{ words: '科技有限公司', food: null }, 10], [{ words: '网络科技有限公司', food: null }, 8],
  [{ words: '信息技术有限公司', food: null }, 5], [{ words: '电子商务有限公司', food: null }, 6],
  [{ words: '贸易有限公司', food: null }, 6], [{ words: '餐饮管理有限公司', food: 2 }, 4],
  [{ words: '食品有限公司', food: 1 }, 3], [{ words: '文化传媒有限公司', food: null }, 4],
  [{ words: '建筑工程有限公司', food: null }, 3], [{ words: '装饰工程有限公司', food: null }, 3],
  [{ words: '物流有限公司', food: null }, 3], [{ words: '教育科技有限公司', food: null }, 2],
  [{ words: '服饰有限公司', food: null }, 2], [{ words: '医疗器械有限公司', food: null }, 1],
]);

/** Characters of 字号 (trade names), two at a time: 鑫源, 瑞达, 嘉禾. */
const TRADE_NAME_CHARACTERS = [
  '鑫', '源', '瑞', '达', '嘉', '禾', '恒', '泰', '信', '盛', '创', '联', '远', '智', '汇', '宏', '安', '诚', '优', '佳',
  '华', '兴', '隆', '昌', '福', '顺', '和', '美', '锦', '荣', '丰', '德', '博', '新', '康', '益', '祥', '辰', '星', '云',
];

/** A 字号: an invented two-character word, or for a sole proprietor also the operator's 张记 / 老张 / 张氏. */
export function tradeName(random: Random, operatorSurname: string | null): string {
  if (operatorSurname !== null && random.chance(0.4)) {
    return random.pick([`${operatorSurname}记`, `老${operatorSurname}`, `${operatorSurname}氏`]);
  }
  return random.pick(TRADE_NAME_CHARACTERS) + random.pick(TRADE_NAME_CHARACTERS);
}

/** Professional qualifications (职业资格 / 职业技能等级) commonly held in a city's workforce, with the levels issued. */
export const QUALIFICATIONS: readonly string[] = [
  '中式烹调师', '电工', '焊工', '育婴员', '保育师', '美容师', '美发师', '汽车维修工', '茶艺师', '养老护理员',
  '企业人力资源管理师', '健康管理师', '网络与信息安全管理员', '评茶员', '西式面点师', '保安员', '消防设施操作员',
];
export const QUALIFICATION_LEVELS: readonly string[] = ['五级/初级工', '四级/中级工', '三级/高级工', '二级/技师', '一级/高级技师'];
