/**
 * Administrative divisions (GB/T 2260) the synthetic city uses: Hangzhou's 13 county-level
 * divisions as they stand since the 2021 reorganisation, and county-level divisions
 * elsewhere that migrants come from. Codes and names are real; only the people are not.
 */

import { weightedChoice, type WeightedChoice } from './random';

export interface Division {
  /** 6-digit GB/T 2260 code. */
  code: string;
  /** Full name, province first: 浙江省杭州市西湖区. */
  name: string;
}

export interface HangzhouDistrict extends Division {
  /** How business names start (杭州市西湖区张记小吃店, 桐庐县…): the county-level name, city first for districts. */
  businessNamePrefix: string;
  /** The district's market regulation bureau, which issues business and food business licences. */
  marketRegulationBureau: string;
  /** Real street names in the district, for addresses such as 文三路 138 号 2 幢 301 室. */
  streets: readonly string[];
}

function district(code: string, shortName: string, streets: readonly string[]): HangzhouDistrict {
  const isDistrict = shortName.endsWith('区');
  return {
    code,
    name: `浙江省杭州市${shortName}`,
    businessNamePrefix: isDistrict ? `杭州市${shortName}` : shortName,
    marketRegulationBureau: isDistrict ? `杭州市${shortName}市场监督管理局` : `${shortName}市场监督管理局`,
    streets,
  };
}

export const HANGZHOU_DISTRICTS: readonly HangzhouDistrict[] = [
  district('330102', '上城区', ['解放路', '清泰街', '望江路', '秋涛路', '凯旋路', '钱江路', '富春路', '江锦路', '景芳路', '杭海路']),
  district('330105', '拱墅区', ['莫干山路', '湖墅南路', '上塘路', '大关路', '登云路', '潮王路', '东新路', '朝晖路', '石祥路', '香积寺路']),
  district('330106', '西湖区', ['文三路', '文二路', '文一路', '教工路', '学院路', '古墩路', '天目山路', '西溪路', '曙光路', '紫荆花路']),
  district('330108', '滨江区', ['江南大道', '滨盛路', '江陵路', '长河路', '网商路', '阡陌路', '月明路', '浦沿路', '六和路', '闻涛路']),
  district('330109', '萧山区', ['市心中路', '人民路', '金城路', '育才路', '通惠路', '萧绍路', '山阴路', '鸿宁路', '工人路', '博学路']),
  district('330110', '余杭区', ['文一西路', '五常大道', '良睦路', '高教路', '海曙路', '爱橙街', '余杭塘路', '荆长大道', '良渚大道', '龙舟路']),
  district('330111', '富阳区', ['桂花路', '江滨西大道', '体育馆路', '金桥北路', '孙权路', '春秋北路', '恩波大道', '北环路']),
  district('330112', '临安区', ['钱王街', '衣锦街', '万马路', '石镜街', '农林大路', '苕溪北街', '科技大道', '城中街']),
  district('330113', '临平区', ['迎宾路', '世纪大道', '人民大道', '星光街', '南苑街', '北沙西路', '藕花洲大街', '望梅路']),
  district('330114', '钱塘区', ['学林街', '学源街', '学正街', '下沙路', '文渊路', '海达南路', '福城路', '江东大道']),
  district('330122', '桐庐县', ['迎春南路', '白云源路', '学圣路', '瑶琳路', '富春路', '梅林路', '春江路', '大奇山路']),
  district('330127', '淳安县', ['新安大街', '环湖北路', '开发路', '梦姑路', '排岭路', '睦州路', '千岛湖大道']),
  district('330182', '建德市', ['新安路', '严州大道', '江滨中路', '洋安大道', '府前路', '新安东路', '江滨北路']),
];

/** Where Hangzhou's registered population lives, by district (seventh census, 2020, in ten thousands; rounded). */
export const DISTRICT_BY_POPULATION: WeightedChoice<HangzhouDistrict> = weightedChoice(
  [132, 112, 111, 50, 201, 123, 83, 63, 117, 77, 45, 33, 44].map((weight, i) => [HANGZHOU_DISTRICTS[i], weight] as const),
);

export interface OriginDivision extends Division {
  /** 籍贯 as the household registry writes it: province and city without suffixes, for example 安徽合肥. */
  nativePlace: string;
}

/**
 * Migrants' household registration, weighted roughly by where Hangzhou's migrant
 * population comes from (Anhui, Henan, Jiangxi, Sichuan and Guizhou first, then
 * elsewhere in Zhejiang). Each is one real county-level division standing for its province.
 */
export const MIGRANT_ORIGINS: WeightedChoice<OriginDivision> = weightedChoice<OriginDivision>([
  [{ code: '340102', name: '安徽省合肥市瑶海区', nativePlace: '安徽合肥' }, 14],
  [{ code: '341202', name: '安徽省阜阳市颍州区', nativePlace: '安徽阜阳' }, 8],
  [{ code: '410105', name: '河南省郑州市金水区', nativePlace: '河南郑州' }, 13],
  [{ code: '360102', name: '江西省南昌市东湖区', nativePlace: '江西南昌' }, 10],
  [{ code: '510104', name: '四川省成都市锦江区', nativePlace: '四川成都' }, 8],
  [{ code: '520102', name: '贵州省贵阳市南明区', nativePlace: '贵州贵阳' }, 8],
  [{ code: '430102', name: '湖南省长沙市芙蓉区', nativePlace: '湖南长沙' }, 6],
  [{ code: '420102', name: '湖北省武汉市江岸区', nativePlace: '湖北武汉' }, 6],
  [{ code: '500103', name: '重庆市渝中区', nativePlace: '重庆' }, 5],
  [{ code: '320102', name: '江苏省南京市玄武区', nativePlace: '江苏南京' }, 4],
  [{ code: '370102', name: '山东省济南市历下区', nativePlace: '山东济南' }, 3],
  [{ code: '350102', name: '福建省福州市鼓楼区', nativePlace: '福建福州' }, 2],
  [{ code: '450102', name: '广西壮族自治区南宁市兴宁区', nativePlace: '广西南宁' }, 3],
  [{ code: '610102', name: '陕西省西安市新城区', nativePlace: '陕西西安' }, 2],
  [{ code: '130102', name: '河北省石家庄市长安区', nativePlace: '河北石家庄' }, 2],
  [{ code: '140105', name: '山西省太原市小店区', nativePlace: '山西太原' }, 1],
  [{ code: '230102', name: '黑龙江省哈尔滨市道里区', nativePlace: '黑龙江哈尔滨' }, 1],
  [{ code: '330302', name: '浙江省温州市鹿城区', nativePlace: '浙江温州' }, 3],
  [{ code: '330602', name: '浙江省绍兴市越城区', nativePlace: '浙江绍兴' }, 2],
]);

export interface University {
  name: string;
  district: HangzhouDistrict;
  /** The campus address, where its students' collective household (集体户) is registered. */
  addressDetail: string;
}

function districtByCode(code: string): HangzhouDistrict {
  const found = HANGZHOU_DISTRICTS.find((d) => d.code === code);
  if (!found) throw new Error(`no Hangzhou district has code ${code}`);
  return found;
}

/** Universities whose student collective households (学生集体户) hold many young adults' registration. */
export const UNIVERSITIES: readonly University[] = [
  { name: '浙江大学紫金港校区', district: districtByCode('330106'), addressDetail: '余杭塘路 866 号' },
  { name: '浙江工业大学朝晖校区', district: districtByCode('330105'), addressDetail: '潮王路 18 号' },
  { name: '杭州师范大学仓前校区', district: districtByCode('330110'), addressDetail: '余杭塘路 2318 号' },
  { name: '浙江工商大学下沙校区', district: districtByCode('330114'), addressDetail: '学正街 18 号' },
  { name: '中国计量大学', district: districtByCode('330114'), addressDetail: '学源街 258 号' },
  { name: '杭州电子科技大学', district: districtByCode('330114'), addressDetail: '2 号大街 1158 号' },
  { name: '浙江理工大学下沙校区', district: districtByCode('330114'), addressDetail: '2 号大街 928 号' },
  { name: '浙江科技大学', district: districtByCode('330106'), addressDetail: '留和路 318 号' },
];
