import { pseudonym } from '../../lib/pseudonym';
import { withTimeout } from '../../lib/with-timeout';
import type { AnswerStore } from './answer-store';
import { answerKey } from './cache-key';
import { keepForMs } from './cache-control';
import { citizensIn } from './citizens';

export interface DepartmentCacheOptions {
  store: AnswerStore;
  /** The longest each department's answers are kept, in seconds (config PROOFLESS_CACHE_TTL_<DEPARTMENT>); a department not named, or 0, is never cached. */
  ttlSeconds: Record<string, number>;
  /** HMAC key naming entries (the store never sees a fetch's text or variables). */
  entryKeySecret: Uint8Array;
  /** HMAC key of citizens' pseudonyms in tags: the one departments hold to publish registry changes (PROOFLESS_PSEUDONYM_KEY_FILE). */
  pseudonymKey: Uint8Array;
  /** How long a request waits for one cache operation before going on without it; default 100 ms. */
  operationTimeoutMs?: number;
  /** Told once when the store stops answering and once when it answers again; default silent. */
  warn?: (message: string) => void;
}

/** One fetch of a query plan that the cache may answer: a query to a department with a TTL. */
export interface CacheableFetch {
  department: string;
  key: string;
  variables: Record<string, unknown> | undefined;
  /** The registry-change count when the fetch began (see `rememberAnswer`). */
  changesSeen: number;
}

/** A department's answer as the gateway's executor reads it. */
export interface DepartmentAnswer {
  data?: Record<string, unknown> | null;
  errors?: readonly unknown[];
  extensions?: Record<string, unknown>;
  http?: { headers: { get(name: string): string | null } };
}

/** For the metrics endpoint: how the cache has served since the gateway started. */
export interface CacheCounters {
  /** Fetches answered from the cache. */
  hits: number;
  /** Cacheable fetches the cache did not hold (or held unreadably): sent to the department. */
  misses: number;
  /** Cache operations that failed or took longer than the bound; the request went on without the cache. */
  errors: number;
  /** Cache operations not tried because the store was unavailable (Redis not connected). */
  skips: number;
  /** Entries dropped because a department published a change to a citizen's record. */
  invalidated: number;
}

export interface DepartmentCache {
  /** The fetch as the cache keys it, or undefined when its answer is never cached: a mutation, a department whose TTL is 0. */
  cacheableFetch(department: string, request: { query: string; variables?: Record<string, unknown> }): CacheableFetch | undefined;
  /** The kept answer, or undefined: not kept, or the store could not say in time. Never throws. */
  lookUp(fetch: CacheableFetch): Promise<DepartmentAnswer | undefined>;
  /** Keeps the department's answer unless it has errors, its hints say not to, or a citizen in it changed meanwhile. Never throws. */
  rememberAnswer(fetch: CacheableFetch, answer: DepartmentAnswer): Promise<void>;
  /** A department changed this citizen's record (pseudonymised): drops every answer of that department about them. Never throws. */
  citizenChanged(department: string, citizenPseudonym: string): Promise<void>;
  readonly counters: Readonly<CacheCounters>;
}

/** How many recent registry changes are remembered for fetches still in flight (see `rememberAnswer`). */
const RECENT_CHANGES = 10000;

/**
 * The department-answer cache the data sources consult, per fetch of a query plan: after
 * every check and the audit plugin's rewrite have run, so a cached answer goes through
 * the same purpose checks, limits and audit record as a fresh one.
 *
 * The cache never fails or holds up a request: each store operation is skipped while the
 * store is unavailable and abandoned after `operationTimeoutMs`, and the request goes to
 * the department instead.
 */
export function createDepartmentCache(options: DepartmentCacheOptions): DepartmentCache {
  const { store } = options;
  const timeoutMs = options.operationTimeoutMs ?? 100;
  const warn = options.warn ?? (() => undefined);
  const counters: CacheCounters = { hits: 0, misses: 0, errors: 0, skips: 0, invalidated: 0 };
  let isStoreDown = false;
  // Registry changes so far, and the most recent ones by tag with their number.
  let changeCount = 0;
  let forgottenUpTo = 0;
  const recentChanges = new Map<string, number>();

  const markDown = () => {
    if (!isStoreDown) warn(`cache: ${store.name} is unavailable; asking departments directly until it is back`);
    isStoreDown = true;
  };

  /** Runs one store operation within the bound; undefined when it was skipped, failed or too slow. */
  async function bounded<T>(operation: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (!store.isAvailable()) {
      counters.skips += 1;
      markDown();
      return undefined;
    }
    try {
      const value = await withTimeout(operation(), timeoutMs, 'cache operation timed out');
      if (isStoreDown) warn(`cache: ${store.name} is back; caching department answers again`);
      isStoreDown = false;
      return { value };
    } catch {
      counters.errors += 1;
      markDown();
      return undefined;
    }
  }

  const tagOf = (department: string, citizenPseudonym: string) => `${department}:${citizenPseudonym}`;

  return {
    counters,

    cacheableFetch(department, request) {
      if (!((options.ttlSeconds[department] ?? 0) > 0) || !isQuery(request.query)) return undefined;
      return {
        department,
        key: answerKey(options.entryKeySecret, department, request.query, request.variables),
        variables: request.variables,
        changesSeen: changeCount,
      };
    },

    async lookUp(fetch) {
      const result = await bounded(() => store.get(fetch.key));
      if (!result) return undefined;
      const answer = result.value === undefined ? undefined : parseAnswer(result.value);
      if (answer) counters.hits += 1;
      else counters.misses += 1;
      return answer;
    },

    /**
     * A fetch that began before a change to one of its citizens may carry the old record
     * and arrive after the change was published (and its entries dropped): such an answer
     * is passed on, since it was current when asked, but not kept. Only the most recent
     * changes are remembered; a fetch older than all of them is not kept either.
     */
    async rememberAnswer(fetch, answer) {
      if (answer.errors && answer.errors.length > 0) return;
      const ttlMs = keepForMs(options.ttlSeconds[fetch.department] ?? 0, answer.http?.headers.get('cache-control'));
      if (ttlMs <= 0) return;
      const tags = [...citizensIn(fetch.variables, answer.data)].map((idNumber) => tagOf(fetch.department, pseudonym(options.pseudonymKey, idNumber)));
      if (changeCount > fetch.changesSeen) {
        if (fetch.changesSeen < forgottenUpTo) return;
        if (tags.some((tag) => (recentChanges.get(tag) ?? 0) > fetch.changesSeen)) return;
      }
      const kept = JSON.stringify({ data: answer.data, ...(answer.extensions ? { extensions: answer.extensions } : {}) });
      await bounded(() => store.set(fetch.key, kept, ttlMs, tags));
    },

    async citizenChanged(department, citizenPseudonym) {
      const tag = tagOf(department, citizenPseudonym);
      changeCount += 1;
      recentChanges.delete(tag);
      recentChanges.set(tag, changeCount);
      if (recentChanges.size > RECENT_CHANGES) {
        const [oldest, count] = recentChanges.entries().next().value as [string, number];
        recentChanges.delete(oldest);
        forgottenUpTo = count;
      }
      const result = await bounded(() => store.dropTagged(tag));
      if (result) counters.invalidated += result.value;
    },
  };
}

/**
 * Whether a query-plan fetch is a query: only queries are cached, and only queries are
 * sent again after a connection error (data-source.ts). The query planner prints each
 * fetch's operation first, with ignored characters stripped (@apollo/query-planner
 * buildPlan), so it starts with `query` or, for an anonymous query, `{`; a mutation or
 * anything unexpected is not a query.
 */
export function isQuery(operation: string): boolean {
  return operation.startsWith('{') || /^query\b/.test(operation);
}

function parseAnswer(kept: string): DepartmentAnswer | undefined {
  try {
    return JSON.parse(kept) as DepartmentAnswer;
  } catch {
    return undefined;
  }
}
