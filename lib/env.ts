/**
 * Reading environment variables with messages that name the variable, what was expected
 * and what arrived. Configuration errors stop the process at start, never mid-request.
 */
export class ConfigError extends Error {}

export function integerFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, range: { min: number; max: number }): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new ConfigError(`${name} must be a whole number from ${range.min} to ${range.max}, got "${raw}"`);
  }
  return value;
}

export function stringFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw === '' ? fallback : raw;
}

export function urlFromEnv(env: NodeJS.ProcessEnv, name: string, protocols = ['http:', 'https:']): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !protocols.includes(url.protocol)) {
    // The value is not echoed: a URL may carry a password.
    throw new ConfigError(`${name} must be a ${protocols.map((protocol) => protocol.slice(0, -1)).join(' or ')} URL`);
  }
  return url.toString();
}
