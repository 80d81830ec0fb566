import Database from 'better-sqlite3';

/** Registries larger than this are mapped up to it and read beyond it; a million citizens take 150-240 MB per department. */
const REGISTRY_MMAP_BYTES = 1024 * 1024 * 1024;

/**
 * Opens a department's SQLite store. Reads take one JSON array parameter
 * (`IN (SELECT value FROM json_each(?))`), so one prepared statement serves a batch
 * of any size without hitting SQLite's bound-parameter limit.
 */
export function openSqlite(file: string, options: { readonly: boolean }): Database.Database {
  const db = new Database(file, { readonly: options.readonly, fileMustExist: options.readonly });
  if (options.readonly) {
    // Reads go through a memory map of the file instead of a read() per page into SQLite's
    // 2 MB page cache: with a million citizens every lookup missed that cache. The map is
    // address space, not memory: only the pages read are resident, and they are the
    // operating system's file cache, shared and reclaimable.
    db.pragma(`mmap_size = ${REGISTRY_MMAP_BYTES}`);
  } else {
    // Only the seeder writes, into a temporary file renamed into place when complete, so
    // a crash mid-write leaves nothing to recover: no journal, no fsync, a large cache.
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
  }
  return db;
}

/** Runs `insert` for every row inside one transaction (seeding a million rows takes seconds, not hours). */
export function insertAll<Row>(db: Database.Database, sql: string, rows: Iterable<Row>, toParams: (row: Row) => unknown[]): void {
  const statement = db.prepare(sql);
  db.transaction(() => {
    for (const row of rows) statement.run(...toParams(row));
  })();
}
