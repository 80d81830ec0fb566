'use strict';
/**
 * One verification of the audit store in a worker thread (audit/background-verification.ts
 * starts it): runs verification-pass for `workerData.input`, posts the results or the
 * error's message, and ends. Plain JavaScript, as sqlite-writer-worker.js is: a worker
 * thread does not get jest's transform, so the pass, which is TypeScript, is loaded
 * through tsx's own `require` when the sources run (tests, `tsx`), and is the compiled
 * JavaScript beside this file in dist/ otherwise (`workerData.module` names which).
 */
const { parentPort, workerData } = require('node:worker_threads');

const load = (file) => (file.endsWith('.ts') ? require('tsx/cjs/api').require(file, __filename) : require(file));

Promise.resolve()
  .then(() => load(workerData.module).runVerificationPass(workerData.input))
  .then(
    (results) => parentPort.postMessage({ results }),
    (error) => parentPort.postMessage({ error: String((error && error.message) || error) }),
  );
