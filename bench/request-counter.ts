import { subscribe } from 'node:diagnostics_channel';

/**
 * Loaded into each department process by the harness, compiled as the departments are
 * (`node --import dist/bench/request-counter.js dist/subgraphs/<name>/index.js`), so the
 * benchmark can count the HTTP requests a department receives without touching
 * department code. Node publishes
 * every incoming request on this diagnostics channel; counting costs one increment.
 * The harness asks over the IPC channel the department already has with its parent.
 */
export interface RequestCountQuery {
  benchRequestCount: 'read' | 'reset';
}

export interface RequestCountAnswer {
  benchRequestCount: number;
}

let requests = 0;
subscribe('http.server.request.start', () => {
  requests += 1;
});

process.on('message', (message: Partial<RequestCountQuery>) => {
  if (message?.benchRequestCount === undefined) return;
  const answer: RequestCountAnswer = { benchRequestCount: requests };
  if (message.benchRequestCount === 'reset') requests = 0;
  process.send?.(answer);
});
