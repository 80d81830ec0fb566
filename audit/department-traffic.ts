import { arrived } from '../lib/arrived';
import { ConfigError, urlFromEnv } from '../lib/env';
import type { Logger } from '../lib/logger';
import { accessLogLocationFromEnv, type AccessLogLocation } from './access-log-config';
import { departmentLogExists } from './department-logs';
import { OperationalSummary, type OperationalFigures } from './department-summary';
import { AuditQueryError } from './errors';
import { exportRecords } from './export';
import { INSTANT_EXAMPLE, parseInstant } from './instant';
import { openAuditStore } from './open-store';
import { isSchemaName } from './postgres-store';

/**
 * A department's operational figures for one period, read from its own access log by
 * the auditors' department (issue 18, X-Road's operational monitoring): per calling
 * application and service item, counts and latencies only. The log is opened read-only
 * for each question and closed after it; nothing is kept.
 */
export interface DepartmentTraffic {
  department: string;
  /** Inclusive and exclusive, as ISO instants (`toISOString`). */
  from: string;
  to: string;
  /** Whether the department's log was found where the auditors' department looks; false reads as no traffic yet. */
  hasLog: boolean;
  figures: OperationalFigures[];
}

/** Where the auditors' department reads one department's access log. */
export type DepartmentLogLocation = AccessLogLocation;

/** The longest period one question may cover: a month of a busy department's log is read in one pass. */
export const MAX_TRAFFIC_PERIOD_DAYS = 31;

/** The department's log exists but cannot be read (not granted, unreachable, not a log); the message names no path or host. */
export class DepartmentLogUnreadableError extends Error {
  constructor(readonly department: string, options: { cause: unknown }) {
    super(`the ${department} department's access log cannot be read`, options);
    this.name = 'DepartmentLogUnreadableError';
  }
}

/**
 * The period as the auditor wrote it, checked: both ISO instants, from before to, at most
 * MAX_TRAFFIC_PERIOD_DAYS apart. An AuditQueryError says what was expected and what arrived.
 */
export function checkTrafficPeriod(rawFrom: unknown, rawTo: unknown): { from: string; to: string } {
  const instant = (name: string, raw: unknown) => {
    const value = typeof raw === 'string' ? parseInstant(raw) : null;
    if (value === null) throw new AuditQueryError(`${name} must be an ISO instant such as ${INSTANT_EXAMPLE}, got ${arrived(raw)}`);
    return value;
  };
  const from = instant('from', rawFrom);
  const to = instant('to', rawTo);
  if (from >= to) throw new AuditQueryError(`from must be before to, got from ${from} and to ${to}`);
  if (Date.parse(to) - Date.parse(from) > MAX_TRAFFIC_PERIOD_DAYS * 86_400_000) {
    throw new AuditQueryError(`the period from ${from} to ${to} is longer than ${MAX_TRAFFIC_PERIOD_DAYS} days: ask for at most ${MAX_TRAFFIC_PERIOD_DAYS} days at a time`);
  }
  return { from, to };
}

/**
 * Where the auditors' department finds each department's log, read once at start from
 * its environment. `PROOFLESS_<NAME>_ACCESS_LOG_READ_URL` (and `..._READ_SCHEMA`) name a
 * department's own PostgreSQL database and the read-only role it granted the auditors;
 * without them the log is where that department's settings would put it on this host
 * (access-log-config.ts accessLogLocationFromEnv: the SQLite file in the data folder, as `npm start` runs, or the
 * shared PROOFLESS_ACCESS_LOG_DATABASE_URL). The audit department's own schema setting
 * names its own log only, never another department's.
 */
export function departmentLogLocationsFromEnv(env: NodeJS.ProcessEnv, departments: readonly string[]): Map<string, DepartmentLogLocation> {
  const locations = new Map<string, DepartmentLogLocation>();
  for (const department of departments) {
    const prefix = `PROOFLESS_${department.toUpperCase().replace(/-/g, '_')}_ACCESS_LOG_READ`;
    const readUrl = urlFromEnv(env, `${prefix}_URL`, ['postgres:', 'postgresql:']);
    const readSchema = env[`${prefix}_SCHEMA`];
    if (readSchema !== undefined && readSchema !== '' && !isSchemaName(readSchema)) {
      throw new ConfigError(`${prefix}_SCHEMA must be a lower-case SQL identifier, got "${readSchema}"`);
    }
    const ownSchema = department === 'audit' ? env.PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA : undefined;
    locations.set(department, accessLogLocationFromEnv({
      ...env,
      PROOFLESS_ACCESS_LOG_DATABASE_URL: readUrl ?? env.PROOFLESS_ACCESS_LOG_DATABASE_URL,
      PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA: readSchema || ownSchema,
    }, department));
  }
  return locations;
}

/** Reads a department's figures for a checked period; the auditors' department is given one at start. */
export type DepartmentTrafficReader = (department: string, period: { from: string; to: string }) => Promise<DepartmentTraffic>;

/**
 * A reader over `locations`: a department it has no location for is a programming error,
 * the resolver checks names first. Why a log could not be read (a path, a host, a role)
 * goes to `logger`, for the operators; the error the auditor gets says only whose log.
 */
export function departmentTrafficReader(locations: ReadonlyMap<string, DepartmentLogLocation>, logger?: Logger): DepartmentTrafficReader {
  const unreadable = (department: string, cause: unknown) => {
    logger?.warn({ department, reason: (cause as Error).message }, `audit: cannot read the ${department} department's access log for departmentTraffic`);
    return new DepartmentLogUnreadableError(department, { cause });
  };
  return async (department, { from, to }) => {
    const location = locations.get(department);
    if (!location) throw new Error(`no access-log location for department ${department}`);
    const empty: DepartmentTraffic = { department, from, to, hasLog: false, figures: [] };
    let store;
    try {
      if (!(await departmentLogExists(location))) return empty;
      store = await openAuditStore(location, { readOnly: true });
    } catch (cause) {
      throw unreadable(department, cause);
    }
    try {
      const summary = new OperationalSummary();
      for await (const record of exportRecords(store, { from, to })) summary.add(record);
      return { ...empty, hasLog: true, figures: summary.figures() };
    } catch (cause) {
      throw unreadable(department, cause);
    } finally {
      await store.close();
    }
  };
}
