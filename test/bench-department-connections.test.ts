import type { LoadResult } from '../bench/load';
import { formatDepartmentConnections, type Measurement } from '../bench/report';

/** Guarded departments pay a mutual TLS handshake per connection: the report says how many each row's departments accepted. */
function row(target: Measurement['target'], requests: number, departmentConnections?: number): Measurement {
  const result = { requests } as LoadResult;
  return { scenario: 'A', title: 'a', target, connections: 10, citizensInRegistry: 10_000, loadAverageAtStart: 0, result, ratios: null, departmentConnections };
}

test('connections per thousand requests, for a gateway row', () => {
  expect(formatDepartmentConnections(row('proofless', 4000, 30))).toBe('(A) Proofless, 10 connections: its departments accepted 30 connections, 7.5 per 1000 requests');
  expect(formatDepartmentConnections(row('plain', 0, 3))).toBe('(A) plain gateway, 10 connections: its departments accepted 3 connections, - per 1000 requests');
});

test('no line for a department called directly, or a row without the count', () => {
  expect(formatDepartmentConnections(row('household', 4000, 0))).toBeNull();
  expect(formatDepartmentConnections(row('proofless', 4000))).toBeNull();
});
