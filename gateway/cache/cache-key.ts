import { createHmac, hkdfSync } from 'node:crypto';

/**
 * The name a department answer is cached under: a keyed HMAC of the department, the
 * fetch's query and its variables in canonical form. Variables carry ID numbers, and
 * Redis is shared infrastructure, so the name shows nothing of them; the same fetch from
 * any gateway instance holding the key gets the same name.
 */
export function answerKey(secret: Uint8Array, department: string, query: string, variables: Record<string, unknown> | undefined): string {
  return createHmac('sha256', secret)
    .update(department)
    .update('\0')
    .update(query)
    .update('\0')
    .update(canonicalJson(variables ?? {}))
    .digest('base64url');
}

/** JSON with object members sorted by name at every level, so equal variables give equal keys whatever their order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value)
      .sort()
      .filter((name) => (value as Record<string, unknown>)[name] !== undefined)
      .map((name) => `${JSON.stringify(name)}:${canonicalJson((value as Record<string, unknown>)[name])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Separate keys for separate uses from the one configured cache key (HKDF-SHA256): one to
 * name entries, one to encrypt them, so neither use weakens the other.
 */
export function deriveCacheKey(cacheKey: Uint8Array, use: 'entry names' | 'entry values'): Buffer {
  return Buffer.from(hkdfSync('sha256', cacheKey, Buffer.alloc(0), `proofless cache ${use}`, 32));
}
