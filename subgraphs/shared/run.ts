import { existsSync } from 'node:fs';
import path from 'node:path';
import { accessLogConfigFromEnv, type AccessLogConfig } from '../../audit/access-log-config';
import { ConfigError, integerFromEnv, stringFromEnv } from '../../lib/env';
import { DEFAULT_MAX_IDENTIFIER_LIST } from '../../lib/identifier-arguments';
import { dataDirFromEnv } from '../../lib/paths';
import { listDepartments } from '../../lib/composition';
import { createLogger, type Logger } from '../../lib/logger';
import { stopOnSignals } from '../../lib/process-stop';
import { ensureDevelopmentDepartmentKey } from '../../lib/trust-list';
import { openDepartmentAccessLog, type DepartmentAccessLog } from './access-log';
import type { DepartmentName } from './provenance';
import { departmentSecurityFromEnv, openDepartmentSecurity, type DepartmentSecurity, type DepartmentSecurityConfig } from './security';
import { startSubgraph, type RunningSubgraph, type SubgraphDefinition } from './server';

/** The department's port on loopback as `npm start` runs it: the one its routing URL in `schema/departments.json` names. */
export function defaultPortOf(name: DepartmentName): number {
  const entry = listDepartments().find((department) => department.name === name);
  if (!entry) throw new ConfigError(`the ${name} department is not listed in schema/departments.json`);
  return Number(new URL(entry.url).port);
}

export interface DepartmentConfig {
  host: string;
  port: number;
  /** The department's embedded SQLite registry: `<data dir>/<department>.sqlite`. */
  registryFile: string;
  /** Bound on list arguments such as `citizens(idNumbers:)`; more is BAD_USER_INPUT. */
  maxCitizensPerRequest: number;
  /** Its TLS files, the gateway keys it trusts, the catalog its purpose check reads (security.ts). */
  security: DepartmentSecurityConfig;
  /** Its own access log and the key that signs its receipts (audit/access-log-config.ts, access-log.ts). */
  accessLog: AccessLogConfig;
}

/** Every environment variable a department reads, parsed once. */
export function loadDepartmentConfig(name: DepartmentName, env: NodeJS.ProcessEnv = process.env): DepartmentConfig {
  const portVariable = `PROOFLESS_${name.toUpperCase()}_PORT`;
  return {
    host: stringFromEnv(env, 'PROOFLESS_HOST', '127.0.0.1'),
    port: integerFromEnv(env, portVariable, defaultPortOf(name), { min: 0, max: 65535 }),
    registryFile: path.join(dataDirFromEnv(env), `${name}.sqlite`),
    maxCitizensPerRequest: integerFromEnv(env, 'PROOFLESS_MAX_CITIZENS', DEFAULT_MAX_IDENTIFIER_LIST, { min: 1, max: 10000 }),
    security: departmentSecurityFromEnv(env, name),
    accessLog: accessLogConfigFromEnv(env, name),
  };
}

/**
 * A department process: read its configuration, open its registry, listen, and own
 * shutdown: on SIGTERM / SIGINT it drains (answers in flight are answered, keep-alive
 * clients are told `connection: close`), closes its registry and exits 0; 1 when that
 * failed. When started by `npm start` it tells the parent where it listens over the IPC
 * channel, so the parent never has to parse log lines.
 */
export function runDepartment(name: DepartmentName, build: DepartmentBuilder, openSecurity: SecurityOpener = openDepartmentSecurity, options: { withAccessLog?: boolean } = {}): void {
  start(name, build, openSecurity, options.withAccessLog ?? true).catch((error: Error) => {
    console.error(`${name}: ${error.message}`);
    process.exit(1);
  });
}

/** A department's subgraph over its opened registry, and how to close that. */
export interface Department {
  // Each department's context type is its own; the server only hands it to the department's resolvers.
  definition: SubgraphDefinition<any>;
  close(): void | Promise<void>;
}

/** Opens a department's registry from its configuration and builds its subgraph. */
export type DepartmentBuilder = (config: DepartmentConfig) => Department | Promise<Department>;

/** How a department process opens its security: openDepartmentSecurity, always, but in the benchmark's plain baseline. */
export type SecurityOpener = (name: string, config: DepartmentSecurityConfig, logger: Logger) => DepartmentSecurity;

async function start(name: DepartmentName, build: DepartmentBuilder, openSecurity: SecurityOpener, withAccessLog: boolean) {
  const config = loadDepartmentConfig(name);
  let department: Department;
  try {
    department = await build(config);
  } catch (error) {
    throw new Error(error instanceof ConfigError ? error.message : `cannot open the ${name} registry: ${(error as Error).message}`);
  }
  const logger = createLogger(name);
  let security: DepartmentSecurity;
  try {
    security = openSecurity(name, config.security, logger);
  } catch (error) {
    throw new Error(`cannot start securely: ${(error as Error).message}`);
  }
  let accessLog: DepartmentAccessLog | undefined;
  if (withAccessLog) {
    try {
      accessLog = await openAccessLog(config.accessLog, security, logger);
    } catch (error) {
      security.close();
      throw new Error(`cannot open its access log: ${(error as Error).message}`);
    }
  }
  let running: RunningSubgraph;
  try {
    running = await startSubgraph(department.definition, config, security, accessLog);
  } catch (error) {
    throw new Error(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
  }
  logger.info({ url: running.url, ...(accessLog ? { accessLogChain: accessLog.chainId } : {}) }, `${name} subgraph listening on ${running.url}`);
  process.send?.({ ready: name, url: running.url });
  stopOnSignals({
    logger,
    // The log is closed (its last checkpoint signed) only once every answer in flight was recorded and sent.
    stop: () => running.stop().then(async () => {
      try {
        await accessLog?.close();
      } finally {
        security.close();
        await department.close();
      }
    }),
    drainingMessage: 'draining: no new connections; answering requests in flight',
  });
}

/**
 * The department's access log. In development its key is made when missing
 * (`<pki>/<department>-signing-key.pem`, listed in `<pki>/department-keys.json`); `npm
 * start` and the tests make every department's before any starts, and making it is not
 * safe from several processes at once, so only a department started alone ever does.
 * In production the key file is required (audit/access-log-config.ts).
 */
async function openAccessLog(config: AccessLogConfig, security: DepartmentSecurity, logger: Logger): Promise<DepartmentAccessLog> {
  const isDevelopmentKey = path.basename(config.keyFile) === `${config.department}-signing-key.pem`;
  if (isDevelopmentKey && !existsSync(config.keyFile) && process.env.NODE_ENV !== 'production') ensureDevelopmentDepartmentKey(path.dirname(config.keyFile), config.department);
  return openDepartmentAccessLog(config, { verifiedRequest: (req) => security.verifiedRequest(req), logger });
}
