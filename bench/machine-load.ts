import { readFileSync } from 'node:fs';

/**
 * How busy the machine was during a measured run, and how much of that was not the
 * benchmark: the machine is shared, and a figure measured while others' tests ran is
 * worth less. Read from /proc (Linux): all CPUs' busy time, and the CPU time of the
 * benchmark's own processes (harness and children), both in clock ticks. A process's CPU
 * time per request depends less on others' load than requests/s do, though a process
 * that is not kept busy spends more per request on waking up.
 */
export interface MachineLoad {
  /** Busy share of all cores, percent. */
  busyPercent: number;
  /** Busy share of all cores used by processes outside the benchmark, percent. */
  othersPercent: number;
}

export interface CpuSnapshot {
  busyTicks: number;
  totalTicks: number;
  /** CPU time of each of the benchmark's processes. */
  ticksByPid: Map<number, number>;
}

/** Linux's USER_HZ, the unit of /proc's CPU times: 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

export function cpuSnapshot(pids: number[]): CpuSnapshot {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const ticks = fields.map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const totalTicks = ticks.slice(0, 8).reduce((sum, n) => sum + n, 0);
  const busyTicks = totalTicks - ticks[3] - ticks[4];
  return { busyTicks, totalTicks, ticksByPid: new Map(pids.map((pid) => [pid, processTicks(pid)])) };
}

export function machineLoadBetween(before: CpuSnapshot, after: CpuSnapshot): MachineLoad {
  const total = after.totalTicks - before.totalTicks;
  const busy = after.busyTicks - before.busyTicks;
  const ours = cpuTicksBetween(before, after, [...after.ticksByPid.keys()]);
  const percent = (ticks: number) => (total > 0 ? Math.round((Math.max(ticks, 0) / total) * 1000) / 10 : 0);
  return { busyPercent: percent(busy), othersPercent: percent(busy - ours) };
}

/** CPU milliseconds `pids` used between two snapshots (10 ms resolution). */
export function cpuMillisBetween(before: CpuSnapshot, after: CpuSnapshot, pids: number[]): number {
  return (cpuTicksBetween(before, after, pids) * 1000) / TICKS_PER_SECOND;
}

function cpuTicksBetween(before: CpuSnapshot, after: CpuSnapshot, pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (after.ticksByPid.get(pid) ?? 0) - (before.ticksByPid.get(pid) ?? 0), 0);
}

/** utime + stime of a process and all its threads; 0 once it has gone. */
function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}
