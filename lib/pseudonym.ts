import { createHmac } from 'node:crypto';

/**
 * A keyed pseudonym (HMAC-SHA256, 128 bits, base64url) for putting identifiers into
 * shared infrastructure such as Redis: stable for one key, so counts and lookups work
 * across gateway instances, and useless to whoever reads Redis without the key.
 */
export function pseudonym(key: Uint8Array, value: string): string {
  return createHmac('sha256', key).update(value).digest().subarray(0, 16).toString('base64url');
}
