import type { AnswerStore } from './answer-store';

export interface MemoryStoreOptions {
  /** The most entries kept; the least recently used goes first. */
  maxEntries: number;
  /** The clock expiry follows; default `Date.now`. */
  now?: () => number;
}

interface Entry {
  answer: string;
  expiresAt: number;
  tags: readonly string[];
}

/**
 * The cache of a gateway without Redis: a bounded LRU in this process. A Map keeps its
 * keys in insertion order, so re-inserting an entry on every read makes the first key the
 * least recently used one. Expired entries are removed when read or when the bound pushes
 * them out. Values stay in this process, so they are kept as they are, not encrypted.
 */
export function memoryAnswerStore(options: MemoryStoreOptions): AnswerStore & { readonly size: number } {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const keysByTag = new Map<string, Set<string>>();

  const remove = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    for (const tag of entry.tags) {
      const keys = keysByTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) keysByTag.delete(tag);
    }
  };

  return {
    name: 'the in-process cache',
    get size() {
      return entries.size;
    },
    isAvailable: () => true,
    async get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= now()) {
        remove(key);
        return undefined;
      }
      entries.delete(key);
      entries.set(key, entry);
      return entry.answer;
    },
    async set(key, answer, ttlMs, tags) {
      remove(key);
      entries.set(key, { answer, expiresAt: now() + ttlMs, tags });
      for (const tag of tags) {
        const keys = keysByTag.get(tag) ?? new Set<string>();
        keys.add(key);
        keysByTag.set(tag, keys);
      }
      while (entries.size > options.maxEntries) remove(entries.keys().next().value as string);
    },
    async dropTagged(tag) {
      const keys = [...(keysByTag.get(tag) ?? [])];
      for (const key of keys) remove(key);
      return keys.length;
    },
  };
}
