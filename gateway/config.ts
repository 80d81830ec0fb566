import path from 'node:path';
import { listDepartments, SUPERGRAPH_FILE } from '../lib/composition';
import { integerFromEnv, stringFromEnv, urlFromEnv } from '../lib/env';
import { DEFAULT_MAX_IDENTIFIER_LIST } from '../lib/identifier-arguments';

/** Everything the gateway reads from its environment, parsed once at start. */
export interface Config {
  /** PROOFLESS_GATEWAY_HOST, default 127.0.0.1 (loopback only). */
  host: string;
  /** PROOFLESS_GATEWAY_PORT, default 4000; 0 picks a free port. */
  port: number;
  /** PROOFLESS_SUPERGRAPH, default schema/supergraph.graphql. */
  supergraphFile: string;
  /** Per-department subgraph URL overrides: PROOFLESS_<DEPARTMENT>_URL, e.g. PROOFLESS_HOUSEHOLD_URL. */
  subgraphUrls: Record<string, string>;
  /** PROOFLESS_MAX_BODY_BYTES, default 102400: larger request bodies get 413 REQUEST_TOO_LARGE. */
  maxBodyBytes: number;
  /** PROOFLESS_MAX_CITIZENS, default 100: the most ID numbers one list argument may carry. */
  maxCitizensPerRequest: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const subgraphUrls: Record<string, string> = {};
  for (const { name } of listDepartments()) {
    const url = urlFromEnv(env, `PROOFLESS_${name.toUpperCase()}_URL`);
    if (url) subgraphUrls[name] = url;
  }
  return {
    host: stringFromEnv(env, 'PROOFLESS_GATEWAY_HOST', '127.0.0.1'),
    port: integerFromEnv(env, 'PROOFLESS_GATEWAY_PORT', 4000, { min: 0, max: 65535 }),
    supergraphFile: path.resolve(stringFromEnv(env, 'PROOFLESS_SUPERGRAPH', SUPERGRAPH_FILE)),
    subgraphUrls,
    maxBodyBytes: integerFromEnv(env, 'PROOFLESS_MAX_BODY_BYTES', 102400, { min: 1024, max: 10 * 1024 * 1024 }),
    maxCitizensPerRequest: integerFromEnv(env, 'PROOFLESS_MAX_CITIZENS', DEFAULT_MAX_IDENTIFIER_LIST, { min: 1, max: 10000 }),
  };
}
