import { subscribe } from 'node:diagnostics_channel';

/**
 * Loaded into each department process by the harness, compiled as the departments are
 * (`node --import dist/bench/request-counter.js dist/subgraphs/<name>/index.js`), so the
 * benchmark can count the HTTP requests a department receives, and the connections it
 * accepts (each a TLS handshake for a guarded department), without touching department
 * code. Node publishes every incoming request and every accepted connection on these
 * diagnostics channels; counting costs one increment each.
 * The harness asks over the IPC channel the department already has with its parent.
 */
export interface RequestCountQuery {
  benchRequestCount: 'read' | 'reset';
}

export interface RequestCountAnswer {
  benchRequestCount: number;
  /** Connections accepted since the process started (never reset: the harness takes differences). */
  benchConnectionCount: number;
}

let requests = 0;
let connections = 0;
subscribe('http.server.request.start', () => {
  requests += 1;
});
subscribe('net.server.socket', () => {
  connections += 1;
});

process.on('message', (message: Partial<RequestCountQuery>) => {
  if (message?.benchRequestCount === undefined) return;
  const answer: RequestCountAnswer = { benchRequestCount: requests, benchConnectionCount: connections };
  if (message.benchRequestCount === 'reset') requests = 0;
  process.send?.(answer);
});
