/** The header in which the gateway tells a department who the caller is; the gateway's signature covers it. */
export const CALLER_HEADER = 'x-proofless-caller';

/** The caller as the gateway verified its token (same shape as gateway/auth.ts Caller). */
export interface AssertedCaller {
  application: string;
  officer: string;
  role: string;
  serviceItems: string[];
  scopes: string[];
}

/** The longest header value accepted, in characters: a token's claims fit many times over, and no caller makes a department parse megabytes. */
const MAX_LENGTH = 8192;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const TEXT_FIELDS = ['application', 'officer', 'role'] as const;
const LIST_FIELDS = ['serviceItems', 'scopes'] as const;

/**
 * base64url (RFC 4648 section 5, no padding) of JSON with the keys in a fixed order: the
 * same caller is always the same header, and the header is plain ASCII whatever the names
 * hold (an officer's name in Chinese).
 */
export function encodeAssertedCaller(caller: AssertedCaller): string {
  const { application, officer, role, serviceItems, scopes } = caller;
  return Buffer.from(JSON.stringify({ application, officer, role, serviceItems, scopes }), 'utf8').toString('base64url');
}

/**
 * The caller, or a problem in words. The problem names the header and what was expected,
 * and never the value: it reaches logs and answers, and the value names an officer. Keys
 * beyond the five are ignored (a newer gateway may assert more), and the caller returned
 * holds only the five.
 */
export function decodeAssertedCaller(value: string | undefined): { caller: AssertedCaller } | { problem: string } {
  if (value === undefined || value === '') return { problem: 'X-Proofless-Caller header is absent: the gateway names the caller it verified in it' };
  if (value.length > MAX_LENGTH) return { problem: `X-Proofless-Caller must be at most ${MAX_LENGTH} characters, got ${value.length}` };
  const bytes = BASE64URL.test(value) ? Buffer.from(value, 'base64url') : undefined;
  // Buffer.from skips what it cannot decode: only a value that encodes back to itself is base64url.
  if (!bytes || bytes.toString('base64url') !== value) return { problem: 'X-Proofless-Caller must be base64url without padding (RFC 4648 section 5)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { problem: 'X-Proofless-Caller must be base64url of UTF-8 JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { problem: `X-Proofless-Caller must be base64url of a JSON object, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`}` };
  }
  const fields = parsed as Record<string, unknown>;
  for (const name of TEXT_FIELDS) {
    if (typeof fields[name] !== 'string' || fields[name] === '') return { problem: `X-Proofless-Caller's ${name} must be a non-empty string, got ${describeType(fields[name])}` };
  }
  for (const name of LIST_FIELDS) {
    const list = fields[name];
    if (!Array.isArray(list) || !list.every((entry) => typeof entry === 'string')) {
      return { problem: `X-Proofless-Caller's ${name} must be a list of strings, got ${describeType(list)}` };
    }
  }
  return {
    caller: {
      application: fields.application as string,
      officer: fields.officer as string,
      role: fields.role as string,
      serviceItems: [...(fields.serviceItems as string[])],
      scopes: [...(fields.scopes as string[])],
    },
  };
}

/** What kind of JSON value arrived, never the value itself. */
function describeType(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (value === '') return 'an empty string';
  if (Array.isArray(value)) return 'a list holding something other than strings';
  return `a ${typeof value}`;
}
