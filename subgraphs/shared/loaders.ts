import DataLoader from 'dataloader';

/**
 * A loader of at most one row per key. A key the registry does not know resolves to
 * null rather than an Error: for a registry, "no such citizen" is an answer, and the
 * schema says unknown identifiers give null.
 */
export function rowByKeyLoader<Row>(read: (keys: readonly string[]) => Promise<Row[]>, keyOf: (row: Row) => string): DataLoader<string, Row | null> {
  return new DataLoader(async (keys) => {
    const byKey = new Map<string, Row>();
    for (const row of await read(keys)) byKey.set(keyOf(row), row);
    return keys.map((key) => byKey.get(key) ?? null);
  });
}

/** A loader of every row belonging to each key (a citizen's licences, a household's members); none is an empty list. */
export function rowsByKeyLoader<Row>(read: (keys: readonly string[]) => Promise<Row[]>, keyOf: (row: Row) => string): DataLoader<string, Row[]> {
  return new DataLoader(async (keys) => {
    const byKey = new Map<string, Row[]>(keys.map((key) => [key, []]));
    for (const row of await read(keys)) byKey.get(keyOf(row))?.push(row);
    return keys.map((key) => byKey.get(key) as Row[]);
  });
}
