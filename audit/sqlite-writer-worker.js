'use strict';
/**
 * The audit store's SQLite writer, in a worker thread (audit/sqlite-writer.ts starts it).
 * Plain JavaScript: a worker thread does not get its parent's TypeScript loader (tsx, or
 * jest's transform). It runs each batch of named statements in one IMMEDIATE transaction on its
 * own connection and answers when the commit, fsync included, is done; statements sent as
 * `rolledBack` run first in that transaction and are rolled back (a readiness probe).
 */
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');

const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');

// Prepared once, by the names batches use: a batch carries names and parameters, not SQL text.
const statements = new Map(Object.entries(workerData.statements).map(([name, sql]) => [name, db.prepare(sql)]));

const run = (batch) => {
  for (const [name, params] of batch) statements.get(name).run(...params);
};

/** Thrown to roll a savepoint back once its statements succeeded; never leaves this file. */
const ROLLED_BACK = Symbol('rolled back');

// Called inside runBatch, better-sqlite3 makes this a savepoint, rolled back when it throws.
const tryRolledBack = db.transaction((batch) => {
  run(batch);
  throw ROLLED_BACK;
});

const runBatch = db.transaction((batch, rolledBack) => {
  if (rolledBack.length > 0) {
    try {
      tryRolledBack(rolledBack);
    } catch (error) {
      if (error !== ROLLED_BACK) throw error;
    }
  }
  run(batch);
});

parentPort.on('message', (message) => {
  if (message.close) {
    db.close();
    parentPort.postMessage({ id: message.id });
    parentPort.close();
    return;
  }
  try {
    runBatch.immediate(message.batch, message.rolledBack || []);
    parentPort.postMessage({ id: message.id });
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: { message: String(error && error.message), code: error && error.code } });
  }
});
