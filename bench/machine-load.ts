import { readFileSync } from 'node:fs';

/**
 * How busy the machine was during a measured run, and how much of that was not the
 * benchmark: the machine is shared, and a figure measured while others' tests ran is
 * worth less. Read from /proc (Linux): all CPUs' busy time, and the CPU time of the
 * benchmark's own processes (harness and children), both in clock ticks.
 */
export interface MachineLoad {
  /** Busy share of all cores, percent. */
  busyPercent: number;
  /** Busy share of all cores used by processes outside the benchmark, percent. */
  othersPercent: number;
}

interface Snapshot {
  busyTicks: number;
  totalTicks: number;
  oursTicks: number;
}

export function cpuSnapshot(pids: number[]): Snapshot {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const ticks = fields.map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const totalTicks = ticks.slice(0, 8).reduce((sum, n) => sum + n, 0);
  const busyTicks = totalTicks - ticks[3] - ticks[4];
  return { busyTicks, totalTicks, oursTicks: pids.reduce((sum, pid) => sum + processTicks(pid), 0) };
}

export function machineLoadBetween(before: Snapshot, after: Snapshot): MachineLoad {
  const total = after.totalTicks - before.totalTicks;
  const busy = after.busyTicks - before.busyTicks;
  const ours = after.oursTicks - before.oursTicks;
  const percent = (ticks: number) => (total > 0 ? Math.round((Math.max(ticks, 0) / total) * 1000) / 10 : 0);
  return { busyPercent: percent(busy), othersPercent: percent(busy - ours) };
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
