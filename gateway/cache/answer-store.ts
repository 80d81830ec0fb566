/**
 * Where department answers are kept, as opaque strings under opaque keys: Redis, shared by
 * every gateway instance, or this process's LRU. Each entry carries tags (one per citizen
 * it is about, `<department>:<citizen pseudonym>`) so a registry change can drop it.
 */
export interface AnswerStore {
  /** Names the store in the gateway's log ("Redis"). */
  readonly name: string;
  /** False while the store cannot be asked (Redis not connected): the cache is skipped at once instead of waiting. */
  isAvailable(): boolean;
  /** The answer kept under `key`, or undefined (never kept, expired, dropped, or unreadable). */
  get(key: string): Promise<string | undefined>;
  /** Keeps `answer` under `key` for `ttlMs`, tagged. */
  set(key: string, answer: string, ttlMs: number, tags: readonly string[]): Promise<void>;
  /** Drops every entry tagged `tag`; returns how many there were. */
  dropTagged(tag: string): Promise<number>;
}
