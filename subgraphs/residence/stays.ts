import type { ResidencePeriodRow } from './registry';

/**
 * The first day of a citizen's unbroken stay in a division (a GB/T 2260 code or prefix),
 * up to today, or null when their current registration is not in it. Registrations in the
 * division join into one stay when each begins no later than the day after the previous
 * one ends: moving from 滨江区 to 西湖区 is an unbroken stay in 杭州市 (3301), not in 西湖区.
 */
export function stayStart(periods: readonly ResidencePeriodRow[], division: string): string | null {
  const inDivision = periods.filter((period) => period.divisionCode.startsWith(division)).sort((a, b) => b.fromDate.localeCompare(a.fromDate));
  const current = inDivision.find((period) => period.toDate === null);
  if (!current) return null;
  let start = current.fromDate;
  for (const period of inDivision) {
    if (period.toDate !== null && period.fromDate < start && period.toDate >= dayBefore(start)) start = period.fromDate;
  }
  return start;
}

/** The date `months` calendar months before `date`, the day clamped to the month's end (2026-03-31 less one month is 2026-02-28). */
export function monthsBefore(date: string, months: number): string {
  const [year, month, day] = date.split('-').map(Number);
  const target = year * 12 + (month - 1) - months;
  const targetYear = Math.floor(target / 12);
  const targetMonth = (target % 12) + 1;
  const lastDay = new Date(Date.UTC(targetYear, targetMonth, 0)).getUTCDate();
  return `${String(targetYear).padStart(4, '0')}-${String(targetMonth).padStart(2, '0')}-${String(Math.min(day, lastDay)).padStart(2, '0')}`;
}

function dayBefore(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}
