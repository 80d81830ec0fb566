import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The ID a request is known by, chosen once where it arrives (CONVENTIONS habit 11, Hive
 * Gateway's useRequestId): the caller's own `x-request-id` when it sent a sensible one (to
 * follow a request across systems, and the gateway's to a department), else a new UUID.
 * Sensible is 8 to 64 letters, digits, `.`, `_` or `-`: enough for any tracing scheme,
 * nothing a log line or a header could be broken with.
 */
export function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  return typeof sent === 'string' && /^[A-Za-z0-9._-]{8,64}$/.test(sent) ? sent : randomUUID();
}
