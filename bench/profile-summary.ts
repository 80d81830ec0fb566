import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../lib/paths';
import { formatTable } from './report';

/**
 * `npx tsx bench/profile-summary.ts FILE.cpuprofile [--top N]`: where a process's CPU
 * time went, from a `node --cpu-prof` profile. Self time is time spent in a function's own
 * code; inclusive time also counts what it called, each sample once per group even when
 * the group recurs on the stack, leaving out Node's task-queue and timer dispatch. Groups are npm packages (graphql by folder: language,
 * validation, execution, utilities), Proofless files, and Node's own modules; so
 * "how much is make-fetch-happen" is that package's inclusive share, and "how much is
 * graphql validation" is graphql/validation's. Shares are of busy time (idle excluded).
 */

/** The parts of V8's .cpuprofile format read here. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  /** Microseconds on the system's monotonic clock (the one process.hrtime reads). */
  startTime: number;
  /** The node sampled, per sample. */
  samples: number[];
  /** Microseconds since the previous sample, per sample. */
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Of busy time. */
  percent: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  selfByGroup: Share[];
  inclusiveByGroup: Share[];
  selfByFunction: Share[];
  inclusiveByFunction: Share[];
}

/** V8's pseudo-frames: not code, but where the time went all the same (idle is left out of the shares). */
const PSEUDO_FRAMES = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/** Node's task-queue and timer dispatch: nearly every sample runs under them, so their inclusive time says nothing. */
const DISPATCH_FUNCTIONS = new Set(['processTicksAndRejections', 'runMicrotasks', 'listOnTimeout', 'processTimers', 'processImmediate']);

/** A stretch of the profile, in microseconds of the monotonic clock: only samples taken within it count. */
export interface ProfileWindow {
  fromMicros: number;
  toMicros: number;
}

export function summariseProfile(profile: CpuProfile, top: number, window?: ProfileWindow): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const selfMicros = new Map<number, number>();
  let sampledAt = profile.startTime;
  profile.samples.forEach((id, i) => {
    sampledAt += profile.timeDeltas[i] ?? 0;
    if (window && (sampledAt < window.fromMicros || sampledAt > window.toMicros)) return;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  if (selfMicros.size === 0) throw new Error('no sample of the profile falls within the window asked for');

  const selfByGroup = new Map<string, number>();
  const inclusiveByGroup = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusiveByFunction = new Map<string, number>();
  const add = (totals: Map<string, number>, key: string, micros: number) => totals.set(key, (totals.get(key) ?? 0) + micros);
  let idleMicros = 0;
  let busyMicros = 0;
  for (const [id, micros] of selfMicros) {
    const frame = (byId.get(id) as CpuProfile['nodes'][number]).callFrame;
    if (frame.functionName === '(idle)') {
      idleMicros += micros;
      continue;
    }
    busyMicros += micros;
    add(selfByGroup, groupOf(frame), micros);
    add(selfByFunction, functionOf(frame), micros);
    const groups = new Set<string>();
    const functions = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const ancestor = (byId.get(at) as CpuProfile['nodes'][number]).callFrame;
      if (ancestor.functionName === '(root)' || DISPATCH_FUNCTIONS.has(ancestor.functionName)) continue;
      groups.add(groupOf(ancestor));
      functions.add(functionOf(ancestor));
    }
    for (const group of groups) add(inclusiveByGroup, group, micros);
    for (const name of functions) add(inclusiveByFunction, name, micros);
  }
  const shares = (totals: Map<string, number>): Share[] =>
    [...totals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => ({ name, ms: Math.round(micros / 1000), percent: Math.round((micros / busyMicros) * 1000) / 10 }));
  return {
    busyMs: Math.round(busyMicros / 1000),
    idleMs: Math.round(idleMicros / 1000),
    selfByGroup: shares(selfByGroup),
    inclusiveByGroup: shares(inclusiveByGroup),
    selfByFunction: shares(selfByFunction),
    inclusiveByFunction: shares(inclusiveByFunction),
  };
}

/** An npm package (graphql and @apollo/server by folder), a Proofless file, a Node module, or a V8 pseudo-frame. */
export function groupOf(frame: { functionName: string; url: string }): string {
  if (PSEUDO_FRAMES.has(frame.functionName) && frame.url === '') return frame.functionName;
  const { url } = frame;
  if (url === '') return '(native or builtin)';
  if (url.startsWith('node:')) {
    const [first, second] = url.slice('node:'.length).split('/');
    return first === 'internal' && second ? `node:internal/${second}` : `node:${first}`;
  }
  const file = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = file.slice(modules + '/node_modules/'.length).split('/');
    const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    const rest = parts.slice(parts[0].startsWith('@') ? 2 : 1);
    // Whole packages hide the answer for these two: parsing vs validation vs execution, and which part of the server.
    if (name === 'graphql' && rest.length > 1) return `graphql/${rest[0]}`;
    if (name === '@apollo/server' && rest[0] === 'dist' && rest.length > 3) return `@apollo/server/${rest[2]}`;
    return name;
  }
  return path.relative(REPO_ROOT, file);
}

/** A function by name, file and line; Proofless's own files by name only (tsx compiles them, so lines are the compiled code's). */
function functionOf(frame: { functionName: string; url: string; lineNumber: number }): string {
  const group = groupOf(frame);
  if (PSEUDO_FRAMES.has(group)) return group;
  const file = frame.url ? path.basename(frame.url) : '';
  const where = file && !file.endsWith('.ts') ? `${file}:${frame.lineNumber + 1} ` : '';
  return `${frame.functionName || '(anonymous)'} ${where}[${group}]`;
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const table = (title: string, shares: Share[]) =>
    `${title}\n${formatTable(['', 'ms', '%'], shares.map((share) => [share.name, String(share.ms), share.percent.toFixed(1)]), 1)}`;
  return [
    `busy ${summary.busyMs} ms, idle ${summary.idleMs} ms (shares are of busy time)`,
    table('self time by group', summary.selfByGroup),
    table('inclusive time by group', summary.inclusiveByGroup),
    table('self time by function', summary.selfByFunction),
    table('inclusive time by function', summary.inclusiveByFunction),
  ].join('\n\n');
}

if (require.main === module) {
  const [file, flag, value] = process.argv.slice(2);
  const top = flag === '--top' ? Number(value) : 15;
  if (!file || !(top > 0)) {
    console.error('usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  console.log(formatProfileSummary(summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top)));
}
