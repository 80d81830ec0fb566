import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../gateway/config';
import { CATALOG_FILE, loadCatalog } from '../../lib/catalog';
import { SUPERGRAPH_FILE } from '../../lib/composition';
import { ensureDevSecret } from '../../lib/dev-secrets';
import { signDevToken } from '../../lib/dev-token';
import { ConfigError, integerFromEnv, stringFromEnv, urlFromEnv } from '../../lib/env';
import { requireReachableGatewayPort } from '../../lib/fetch-ports';
import { dataDirFromEnv } from '../../lib/paths';
import { loadDepartmentConfig, type DepartmentConfig } from '../shared/run';

/** Everything the service bureau reads from its environment, parsed once at start. */
export interface ServiceConfig extends DepartmentConfig {
  /** PROOFLESS_GATEWAY_URL, default http://127.0.0.1:4000/graphql: where the bureau reads the departments; not at a port Node's fetch refuses. */
  gatewayUrl: string;
  /** PROOFLESS_CATALOG, default schema/proof-catalog.json: the gateway's catalog. */
  catalogFile: string;
  /** PROOFLESS_SUPERGRAPH, default schema/supergraph.graphql. */
  supergraphFile: string;
  /** PROOFLESS_COMMITMENT_CHECK_INTERVAL_SECONDS, default 3600; 0 turns the in-process follow-up off (schedule `npm run commitments:verify` instead). */
  followUpIntervalSeconds: number;
  /**
   * The bureau's own bearer token for follow-up checks, asked for once per run: the file
   * PROOFLESS_SERVICE_TOKEN_FILE names, read each time so it can be rotated in place; in
   * development without it, a short-lived token signed with the development secret for
   * application service-bureau, role service, every service item in the catalog.
   */
  credential: () => Promise<string>;
}

const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:4000/graphql';
const DEVELOPMENT_TOKEN_SECONDS = 600;

export function loadServiceConfig(env: NodeJS.ProcessEnv = process.env, department: DepartmentConfig = loadDepartmentConfig('service', env)): ServiceConfig {
  const isDevelopment = env.NODE_ENV !== 'production';
  const catalogFile = path.resolve(stringFromEnv(env, 'PROOFLESS_CATALOG', CATALOG_FILE));
  const tokenFile = env.PROOFLESS_SERVICE_TOKEN_FILE;
  if (!tokenFile && !isDevelopment) throw new ConfigError('PROOFLESS_SERVICE_TOKEN_FILE is required in production: the bureau\'s own token for follow-up checks');
  return {
    ...department,
    gatewayUrl: gatewayUrlFromEnv(env),
    catalogFile,
    supergraphFile: path.resolve(stringFromEnv(env, 'PROOFLESS_SUPERGRAPH', SUPERGRAPH_FILE)),
    followUpIntervalSeconds: integerFromEnv(env, 'PROOFLESS_COMMITMENT_CHECK_INTERVAL_SECONDS', 3600, { min: 0, max: 7 * 86400 }),
    credential: tokenFile ? async () => readFileNamedBy('PROOFLESS_SERVICE_TOKEN_FILE', tokenFile) : developmentCredential(env, catalogFile),
  };
}

/** A gateway URL the bureau's client, Node's fetch, can reach: one at a port fetch refuses would fail every call. */
function gatewayUrlFromEnv(env: NodeJS.ProcessEnv): string {
  const url = urlFromEnv(env, 'PROOFLESS_GATEWAY_URL') ?? DEFAULT_GATEWAY_URL;
  requireReachableGatewayPort('PROOFLESS_GATEWAY_URL', new URL(url).port);
  return url;
}

function readFileNamedBy(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new ConfigError(`${variable} names ${file}, which cannot be read`);
  }
}

/** Signed like `npm run dev-token`, with the secret and issuer the development gateway verifies. */
function developmentCredential(env: NodeJS.ProcessEnv, catalogFile: string): () => Promise<string> {
  const secretFile = env.PROOFLESS_JWT_SECRET_FILE;
  const secret = secretFile ? Buffer.from(readFileNamedBy('PROOFLESS_JWT_SECRET_FILE', secretFile), 'base64url') : ensureDevSecret(dataDirFromEnv(env), 'dev-jwt-secret');
  const issuer = stringFromEnv(env, 'PROOFLESS_JWT_ISSUER', DEFAULT_ISSUER);
  const audience = stringFromEnv(env, 'PROOFLESS_JWT_AUDIENCE', DEFAULT_AUDIENCE);
  const serviceItems = [...loadCatalog(catalogFile).items.keys()];
  return () => signDevToken(secret, issuer, audience, {
    application: 'service-bureau',
    officer: 'commitment-follow-up',
    role: 'service',
    serviceItems,
    scopes: [],
    ttlSeconds: DEVELOPMENT_TOKEN_SECONDS,
  });
}
