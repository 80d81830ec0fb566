import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { loadAuditConfig, type AuditConfig } from '../audit/config';
import { CATALOG_FILE } from '../lib/catalog';
import { listDepartments, SUPERGRAPH_FILE } from '../lib/composition';
import { ensureDevSecret } from '../lib/dev-secrets';
import { ConfigError, integerFromEnv, stringFromEnv, urlFromEnv } from '../lib/env';
import { requireReachableGatewayPort } from '../lib/fetch-ports';
import { DEFAULT_MAX_IDENTIFIER_LIST } from '../lib/identifier-arguments';
import { logLevelFromEnv, type LogLevel } from '../lib/logger';
import { dataDirFromEnv } from '../lib/paths';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, type AuthConfig } from './auth';
import { loadCacheConfig, type CacheConfig } from './cache/config';
import { departmentTransportFromEnv, type DepartmentTransportConfig } from './department-transport';
import { DEFAULT_OPERATION_LIMITS, type OperationLimits } from './plugins/limits';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './rate-limit-store';

/** Everything the gateway reads from its environment, parsed once at start. */
export interface Config {
  /** NODE_ENV is not `production`: development secrets, introspection on. */
  isDevelopment: boolean;
  /** PROOFLESS_GATEWAY_HOST, default 127.0.0.1 (loopback only). */
  host: string;
  /** PROOFLESS_GATEWAY_PORT, default 4000; 0 picks a free port. Not a port Node's fetch refuses: the service bureau calls the gateway with it. */
  port: number;
  /** PROOFLESS_SUPERGRAPH, default schema/supergraph.graphql. */
  supergraphFile: string;
  /** PROOFLESS_CATALOG, default schema/proof-catalog.json. */
  catalogFile: string;
  /** Per-department subgraph URL overrides: PROOFLESS_<DEPARTMENT>_URL, e.g. PROOFLESS_HOUSEHOLD_URL. */
  subgraphUrls: Record<string, string>;
  /** PROOFLESS_LOG_LEVEL: trace, debug, info (default), warn, error, fatal or silent. JSON lines on standard output. */
  logLevel: LogLevel;
  /** How departments are called: timeouts, circuit breakers, connection pools. */
  departmentCalls: DepartmentCallConfig;
  /** PROOFLESS_MAX_BODY_BYTES, default 102400: larger request bodies get 413 REQUEST_TOO_LARGE. */
  maxBodyBytes: number;
  /** PROOFLESS_MAX_CITIZENS, default 100: the most ID numbers one list argument may carry. */
  maxCitizensPerRequest: number;
  /** PROOFLESS_MAX_DEPTH, _MAX_ALIASES, _MAX_ROOT_FIELDS, _MAX_FIELDS, _MAX_QUERY_LENGTH, _MAX_COST. */
  limits: OperationLimits;
  /** PROOFLESS_MAX_CONCURRENT_PER_OFFICER, default 8: requests one officer may have in flight in this process (plugins/concurrency.ts). */
  maxConcurrentPerOfficer: number;
  /** PROOFLESS_RATE_LIMIT_ANONYMOUS_PER_MINUTE, default 60: requests without a valid token one client address may make a minute before they are refused (429) and recorded together. */
  anonymousPerMinute: number;
  /** PROOFLESS_RATE_LIMIT_ANONYMOUS_TOTAL_PER_MINUTE, default ten times the per-address allowance: the same for every address together. */
  anonymousTotalPerMinute: number;
  /** PROOFLESS_INTROSPECTION=true|false; default true in development only. */
  introspection: boolean;
  /** PROOFLESS_EXPLORER=true|false; default true in development only: GraphiQL for a browser opening /graphql. */
  isExplorerEnabled: boolean;
  /** PROOFLESS_AUDIT_CONSOLE=true|false, default true: the auditors' console at /audit (auditors use it in production). */
  isAuditConsoleEnabled: boolean;
  /** PROOFLESS_TRUSTED_OPERATIONS: a persisted-query manifest; when set, only its operations are accepted. */
  trustedOperationsFile?: string;
  /** Token verification: PROOFLESS_JWT_ISSUER, _AUDIENCE, _CLOCK_SKEW_SECONDS, _MAX_LIFETIME_SECONDS, _PUBLIC_KEY_FILE, PROOFLESS_JWKS_FILE, PROOFLESS_JWT_SECRET_FILE. */
  auth: AuthConfig;
  /** Mutual TLS to departments (PROOFLESS_TLS_CA_FILE, _CERT_FILE, _KEY_FILE) and the key every request to them is signed with (PROOFLESS_REQUEST_SIGNING_KEY_FILE, _ID): department-transport.ts. */
  departmentTransport: DepartmentTransportConfig;
  /** PROOFLESS_REDIS_URL: shared rate limits and department-answer cache; unset counts and caches in this process. */
  redisUrl?: string;
  /** PROOFLESS_CACHE, PROOFLESS_CACHE_TTL_<DEPARTMENT>, _MAX_ENTRIES, _KEY_FILE (cache/config.ts). */
  cache: CacheConfig;
  /** PROOFLESS_RATE_LIMIT_APPLICATION_PER_MINUTE, _OFFICER_PER_MINUTE, _DISTINCT_CITIZENS_PER_HOUR. */
  rateLimits: RateLimits;
  /** PROOFLESS_PSEUDONYM_KEY_FILE: HMAC key for identifiers kept in Redis; a generated file in development. */
  pseudonymKey: Buffer;
  /** The audit log: PROOFLESS_AUDIT_* (audit/config.ts). */
  audit: AuditConfig;
  /** PROOFLESS_AUDIT_WRITE_TIMEOUT_MS, default 5000: an answer whose record is not durable by then is refused with 503. */
  auditWriteTimeoutMs: number;
}

export interface DepartmentCallConfig {
  /**
   * PROOFLESS_<DEPARTMENT>_TIMEOUT_MS per department, default 3000; the service bureau's
   * default is 15000 (its checklist reads every department through the gateway again) and
   * the audit department's 10000 (verifying chains reads every record).
   */
  timeoutMs: Record<string, number>;
  /** PROOFLESS_BREAKER_FAILURES, default 5: consecutive failed calls that open a department's circuit. */
  breakerFailures: number;
  /** PROOFLESS_BREAKER_OPEN_MS, default 10000: how long an open circuit fails calls at once before one probe. */
  breakerOpenMs: number;
  /** PROOFLESS_DEPARTMENT_MAX_SOCKETS, default 64: keep-alive connections per department. */
  maxSockets: number;
}

const DEFAULT_DEPARTMENT_TIMEOUT_MS: Record<string, number> = { service: 15000, audit: 10000 };

/**
 * Node flags the gateway process is started with (`npm start`, the benchmark; a deployment
 * should use them too). Under load V8 otherwise lets the old generation grow for hundreds
 * of MB between major collections: 350 MB of RSS in bench scenario C. With a 192 MB
 * ceiling RSS stayed near 220 MB with no loss of throughput
 * (`npm run bench -- --soak --scenario C`); the live heap, bounded caches included, is far
 * smaller.
 */
export const GATEWAY_NODE_FLAGS = ['--max-old-space-size=192'];

export const DEFAULT_ISSUER = 'proofless-dev';
export const DEFAULT_AUDIENCE = 'proofless-gateway';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const isDevelopment = env.NODE_ENV !== 'production';
  const dataDir = dataDirFromEnv(env);
  const subgraphUrls: Record<string, string> = {};
  const timeoutMs: Record<string, number> = {};
  for (const { name } of listDepartments()) {
    const url = urlFromEnv(env, `PROOFLESS_${name.toUpperCase()}_URL`);
    if (url) subgraphUrls[name] = url;
    timeoutMs[name] = integerFromEnv(env, `PROOFLESS_${name.toUpperCase()}_TIMEOUT_MS`, DEFAULT_DEPARTMENT_TIMEOUT_MS[name] ?? 3000, { min: 10, max: 300000 });
  }
  const anonymousPerMinute = integerFromEnv(env, 'PROOFLESS_RATE_LIMIT_ANONYMOUS_PER_MINUTE', 60, { min: 1, max: 10_000_000 });
  const trustedOperationsFile = env.PROOFLESS_TRUSTED_OPERATIONS ? path.resolve(env.PROOFLESS_TRUSTED_OPERATIONS) : undefined;
  return {
    isDevelopment,
    host: stringFromEnv(env, 'PROOFLESS_GATEWAY_HOST', '127.0.0.1'),
    port: requireReachableGatewayPort('PROOFLESS_GATEWAY_PORT', integerFromEnv(env, 'PROOFLESS_GATEWAY_PORT', 4000, { min: 0, max: 65535 })),
    supergraphFile: path.resolve(stringFromEnv(env, 'PROOFLESS_SUPERGRAPH', SUPERGRAPH_FILE)),
    catalogFile: path.resolve(stringFromEnv(env, 'PROOFLESS_CATALOG', CATALOG_FILE)),
    subgraphUrls,
    logLevel: logLevelFromEnv(env),
    departmentCalls: {
      timeoutMs,
      breakerFailures: integerFromEnv(env, 'PROOFLESS_BREAKER_FAILURES', 5, { min: 1, max: 1000 }),
      breakerOpenMs: integerFromEnv(env, 'PROOFLESS_BREAKER_OPEN_MS', 10000, { min: 10, max: 600000 }),
      maxSockets: integerFromEnv(env, 'PROOFLESS_DEPARTMENT_MAX_SOCKETS', 64, { min: 1, max: 10000 }),
    },
    maxBodyBytes: integerFromEnv(env, 'PROOFLESS_MAX_BODY_BYTES', 102400, { min: 1024, max: 10 * 1024 * 1024 }),
    maxCitizensPerRequest: integerFromEnv(env, 'PROOFLESS_MAX_CITIZENS', DEFAULT_MAX_IDENTIFIER_LIST, { min: 1, max: 10000 }),
    limits: {
      maxDepth: integerFromEnv(env, 'PROOFLESS_MAX_DEPTH', DEFAULT_OPERATION_LIMITS.maxDepth, { min: 2, max: 100 }),
      maxAliases: integerFromEnv(env, 'PROOFLESS_MAX_ALIASES', DEFAULT_OPERATION_LIMITS.maxAliases, { min: 0, max: 1000 }),
      maxRootFields: integerFromEnv(env, 'PROOFLESS_MAX_ROOT_FIELDS', DEFAULT_OPERATION_LIMITS.maxRootFields, { min: 1, max: 100 }),
      maxFields: integerFromEnv(env, 'PROOFLESS_MAX_FIELDS', DEFAULT_OPERATION_LIMITS.maxFields, { min: 1, max: 100000 }),
      maxQueryLength: integerFromEnv(env, 'PROOFLESS_MAX_QUERY_LENGTH', DEFAULT_OPERATION_LIMITS.maxQueryLength, { min: 100, max: 1000000 }),
      maxCost: integerFromEnv(env, 'PROOFLESS_MAX_COST', DEFAULT_OPERATION_LIMITS.maxCost, { min: 1, max: 1_000_000_000 }),
    },
    maxConcurrentPerOfficer: integerFromEnv(env, 'PROOFLESS_MAX_CONCURRENT_PER_OFFICER', 8, { min: 1, max: 100_000 }),
    anonymousPerMinute,
    anonymousTotalPerMinute: integerFromEnv(env, 'PROOFLESS_RATE_LIMIT_ANONYMOUS_TOTAL_PER_MINUTE', anonymousPerMinute * 10, { min: 1, max: 100_000_000 }),
    introspection: booleanFromEnv(env, 'PROOFLESS_INTROSPECTION', isDevelopment),
    isExplorerEnabled: booleanFromEnv(env, 'PROOFLESS_EXPLORER', isDevelopment),
    isAuditConsoleEnabled: booleanFromEnv(env, 'PROOFLESS_AUDIT_CONSOLE', true),
    ...(trustedOperationsFile ? { trustedOperationsFile } : {}),
    auth: authConfig(env, isDevelopment, dataDir),
    departmentTransport: departmentTransportFromEnv(env),
    ...(urlFromEnv(env, 'PROOFLESS_REDIS_URL', ['redis:', 'rediss:']) ? { redisUrl: env.PROOFLESS_REDIS_URL } : {}),
    cache: loadCacheConfig(env, () => secretFromEnv(env, 'PROOFLESS_CACHE_KEY_FILE', isDevelopment ? () => ensureDevSecret(dataDir, 'dev-cache-key') : undefined)),
    rateLimits: {
      applicationPerMinute: integerFromEnv(env, 'PROOFLESS_RATE_LIMIT_APPLICATION_PER_MINUTE', DEFAULT_RATE_LIMITS.applicationPerMinute, { min: 1, max: 10_000_000 }),
      officerPerMinute: integerFromEnv(env, 'PROOFLESS_RATE_LIMIT_OFFICER_PER_MINUTE', DEFAULT_RATE_LIMITS.officerPerMinute, { min: 1, max: 10_000_000 }),
      distinctCitizensPerHour: integerFromEnv(env, 'PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR', DEFAULT_RATE_LIMITS.distinctCitizensPerHour, { min: 1, max: 10_000_000 }),
    },
    pseudonymKey: secretFromEnv(env, 'PROOFLESS_PSEUDONYM_KEY_FILE', isDevelopment ? () => ensureDevSecret(dataDir, 'dev-pseudonym-key') : undefined),
    audit: loadAuditConfig(env),
    auditWriteTimeoutMs: integerFromEnv(env, 'PROOFLESS_AUDIT_WRITE_TIMEOUT_MS', 5000, { min: 10, max: 120000 }),
  };
}

/**
 * Token verification keys. Production takes public keys only (a PEM or a local JWKS file:
 * no network fetch); development also accepts the shared HS256 secret `npm start`
 * generates in the data folder, so a newcomer needs no key setup.
 */
function authConfig(env: NodeJS.ProcessEnv, isDevelopment: boolean, dataDir: string): AuthConfig {
  const publicKeyFile = env.PROOFLESS_JWT_PUBLIC_KEY_FILE;
  const jwksFile = env.PROOFLESS_JWKS_FILE;
  const config: AuthConfig = {
    issuer: stringFromEnv(env, 'PROOFLESS_JWT_ISSUER', DEFAULT_ISSUER),
    audience: stringFromEnv(env, 'PROOFLESS_JWT_AUDIENCE', DEFAULT_AUDIENCE),
    clockSkewSeconds: integerFromEnv(env, 'PROOFLESS_JWT_CLOCK_SKEW_SECONDS', 30, { min: 0, max: 600 }),
    maxLifetimeSeconds: integerFromEnv(env, 'PROOFLESS_JWT_MAX_LIFETIME_SECONDS', DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, { min: 60, max: 30 * 86400 }),
  };
  if (publicKeyFile) {
    config.publicKeyPem = readFile(publicKeyFile, 'PROOFLESS_JWT_PUBLIC_KEY_FILE');
    try {
      createPublicKey(config.publicKeyPem);
    } catch {
      throw new ConfigError('PROOFLESS_JWT_PUBLIC_KEY_FILE must hold a PEM public key (RSA, EC P-256 or Ed25519)');
    }
  }
  if (jwksFile) {
    try {
      config.jwks = JSON.parse(readFile(jwksFile, 'PROOFLESS_JWKS_FILE')) as JSONWebKeySet;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConfigError('PROOFLESS_JWKS_FILE must hold a JSON Web Key Set');
    }
    if (!Array.isArray(config.jwks?.keys)) throw new ConfigError('PROOFLESS_JWKS_FILE must hold a JSON Web Key Set ({ "keys": [...] })');
  }
  if (env.PROOFLESS_JWT_SECRET_FILE || isDevelopment) {
    if (!isDevelopment) throw new ConfigError('PROOFLESS_JWT_SECRET_FILE (a shared HS256 secret) is for development only; in production set PROOFLESS_JWT_PUBLIC_KEY_FILE or PROOFLESS_JWKS_FILE');
    config.hs256Secret = secretFromEnv(env, 'PROOFLESS_JWT_SECRET_FILE', () => ensureDevSecret(dataDir, 'dev-jwt-secret'));
  }
  if (!config.hs256Secret && !config.publicKeyPem && !config.jwks) {
    throw new ConfigError('no token verification key: set PROOFLESS_JWT_PUBLIC_KEY_FILE or PROOFLESS_JWKS_FILE');
  }
  return config;
}

/** A key file of at least 32 random bytes, base64url: the file `name` gives, else the development default, else (production) an error. */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string, developmentDefault: (() => Buffer) | undefined): Buffer {
  const file = env[name];
  if (file) {
    const secret = Buffer.from(readFile(file, name).trim(), 'base64url');
    if (secret.length < 32) throw new ConfigError(`${name} must hold at least 32 random bytes, base64url-encoded, got ${secret.length}`);
    return secret;
  }
  if (!developmentDefault) throw new ConfigError(`${name} is required in production`);
  return developmentDefault();
}

function readFile(file: string, name: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`${name} names ${file}, which cannot be read`);
  }
}

function booleanFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}
