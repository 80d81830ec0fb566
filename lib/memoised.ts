/** A Map or a WeakMap: what `memoisedIn` keeps its values in. */
interface KeyedCache<K, V> {
  has(key: K): boolean;
  get(key: K): V | undefined;
  set(key: K, value: V): unknown;
}

/**
 * The value `cache` holds for `key`, computed and kept the first time it is asked for.
 * The gateway keeps what it derives from a parsed document (its analysis, its audit
 * rewrite and answer shape, its identifier arguments, its hash) in WeakMaps keyed by the
 * document Apollo Server reuses for every request with the same text: computed once, and
 * gone with the document.
 */
export function memoisedIn<K, V>(cache: KeyedCache<K, V>, key: K, compute: () => V): V {
  if (cache.has(key)) return cache.get(key) as V;
  const value = compute();
  cache.set(key, value);
  return value;
}
