import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './env';

/**
 * The departments' trust list: the gateway keys a department accepts request signatures from,
 * each with the window it is valid in, so a key is rotated by listing the new one beside the
 * old and letting the old one lapse, without restarting a department.
 */
export interface TrustedKey {
  keyId: string;
  holder: string;
  publicKey: KeyObject;
  validFrom: Date;
  validUntil: Date;
}

export interface TrustList {
  file: string;
  keys: ReadonlyMap<string, TrustedKey>;
}

/** The file's JSON shape, as written by hand or by ensureDevelopmentSigningKey. */
interface TrustListEntry {
  keyId: string;
  holder: string;
  publicKey: string;
  validFrom: string;
  validUntil: string;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;
const DEVELOPMENT_KEY_DAYS = 365;

/**
 * Reads and checks a trust list file: JSON `{ "keys": [ { "keyId", "holder", "publicKey": PEM
 * (SPKI, Ed25519 only), "validFrom": ISO date, "validUntil": ISO date } ] }`. Throws ConfigError
 * naming the file and what is wrong.
 */
export function loadTrustList(file: string, options: { mayBeEmpty?: boolean } = {}): TrustList {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`trust list ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`trust list ${file} is not JSON`);
  }
  const entries = (parsed as { keys?: unknown } | null)?.keys;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Array.isArray(entries)) {
    throw new ConfigError(`trust list ${file} must be a JSON object with a "keys" list`);
  }
  // At start an empty list would make every department refuse every request, which is never
  // meant; once running, emptying the list is how an operator revokes every key at once.
  if (entries.length === 0 && !options.mayBeEmpty) throw new ConfigError(`trust list ${file} lists no keys`);
  const keys = new Map<string, TrustedKey>();
  entries.forEach((entry: unknown, index) => {
    const key = trustedKeyOf(entry, `keys[${index}]`, (problem) => new ConfigError(`trust list ${file}: ${problem}`));
    if (keys.has(key.keyId)) throw new ConfigError(`trust list ${file}: keys[${index}].keyId "${key.keyId}" is listed twice`);
    keys.set(key.keyId, key);
  });
  return { file, keys };
}

function trustedKeyOf(entry: unknown, where: string, problem: (words: string) => ConfigError): TrustedKey {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw problem(`${where} must be an object`);
  const fields = entry as Record<string, unknown>;
  for (const name of ['keyId', 'holder', 'publicKey', 'validFrom', 'validUntil']) {
    const value = fields[name];
    if (typeof value !== 'string' || value.trim() === '') {
      throw problem(`${where}.${name} must be a non-empty string, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
    }
  }
  const { keyId, holder, publicKey: pem, validFrom, validUntil } = fields as unknown as TrustListEntry;
  // createPublicKey also accepts a private key and derives its public half: a private key
  // pasted here by mistake must be refused, not silently used (and left readable to all).
  if (!pem.trim().startsWith('-----BEGIN PUBLIC KEY-----')) throw problem(`${where}.publicKey must be a PEM public key (-----BEGIN PUBLIC KEY-----)`);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw problem(`${where}.publicKey is not a readable PEM public key`);
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') throw problem(`${where}.publicKey is not an Ed25519 public key, got ${publicKey.asymmetricKeyType}`);
  const from = dateOf(validFrom, `${where}.validFrom`, problem);
  const until = dateOf(validUntil, `${where}.validUntil`, problem);
  if (until.getTime() <= from.getTime()) throw problem(`${where}.validUntil (${validUntil}) must be after validFrom (${validFrom})`);
  return { keyId, holder, publicKey, validFrom: from, validUntil: until };
}

function dateOf(value: string, where: string, problem: (words: string) => ConfigError): Date {
  const date = new Date(value);
  if (!ISO_DATE.test(value) || Number.isNaN(date.getTime())) throw problem(`${where} must be an ISO 8601 date such as 2026-01-31 or 2026-01-31T08:00:00+08:00, got "${value}"`);
  return date;
}

/**
 * Watches `file` by polling its stats every `intervalMs` (default 2000), so it works on every
 * filesystem and with atomic renames, and reloads it on change; a change that does not load
 * keeps the last good list and calls onError. `current()` is synchronous and cheap.
 * The first load throws: a department does not start without a trust list.
 * Its own timer rather than fs.watchFile: watchFile compares each poll with a first stat it
 * takes asynchronously after starting, so an edit landing between our load and that first stat
 * would never be seen. Here each poll compares with the stat taken before the last load.
 */
export function watchTrustList(
  file: string,
  options: { intervalMs?: number; onReload?: (list: TrustList) => void; onError?: (error: Error) => void } = {},
): { current(): TrustList; close(): void } {
  let loadedStat = statSignatureOf(file);
  let list = loadTrustList(file);
  let isPolling = false;
  const poll = async (): Promise<void> => {
    if (isPolling) return;
    isPolling = true;
    try {
      const seen = await stat(file).then(signatureOfStats, () => 'missing');
      if (seen === loadedStat) return;
      loadedStat = seen;
      // Fail closed: a list deleted is a list revoked (an operator stopping a leaked key), never the last one kept.
      if (seen === 'missing') {
        list = { file, keys: new Map() };
        options.onError?.(new ConfigError(`trust list ${file} is gone: no gateway key is trusted until it is back`));
        return;
      }
      try {
        list = loadTrustList(file, { mayBeEmpty: true });
      } catch (error) {
        // A list that does not load (a half-written edit) keeps the previous one.
        options.onError?.(error as Error);
        return;
      }
      options.onReload?.(list);
    } finally {
      isPolling = false;
    }
  };
  const timer = setInterval(() => void poll(), options.intervalMs ?? 2000);
  // The department's server keeps the process alive; the watcher must not.
  timer.unref();
  return {
    current: () => list,
    close: () => clearInterval(timer),
  };
}

/** What changes when the file is edited in place or replaced by a rename. */
function signatureOfStats(stats: Stats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

function statSignatureOf(file: string): string {
  try {
    return signatureOfStats(statSync(file));
  } catch {
    return 'missing';
  }
}

/**
 * Development: makes (once) an Ed25519 request-signing key for `holder` at
 * <dir>/<holder>-signing-key.pem (mode 0600) and lists its public key in <dir>/gateway-keys.json
 * (created if missing), keyId `<holder>-<first 8 hex of the SHA-256 of the public key DER>`,
 * valid from now for 365 days. Idempotent: a second call changes nothing.
 */
export function ensureDevelopmentSigningKey(dir: string, holder = 'gateway'): { keyFile: string; keyId: string; trustListFile: string } {
  return ensureDevelopmentKey(dir, holder, 'gateway-keys.json', (spkiHex) => `${holder}-${spkiHex.slice(0, 8)}`);
}

/**
 * Development: makes (once) department `department`'s Ed25519 key, which signs its
 * receipts and its access log's checkpoints, at <dir>/<department>-signing-key.pem and
 * lists it in <dir>/department-keys.json (holder the department, keyId the SHA-256 hex of
 * the public key, as audit keys are named). Idempotent. Not safe to run from several
 * processes at once on the same list (each rewrites it): `npm start` and the tests make
 * every department's key before starting any.
 */
export function ensureDevelopmentDepartmentKey(dir: string, department: string): { keyFile: string; keyId: string; trustListFile: string } {
  return ensureDevelopmentKey(dir, department, 'department-keys.json', (spkiHex) => spkiHex);
}

function ensureDevelopmentKey(dir: string, holder: string, listName: string, keyIdFor: (spkiHex: string) => string): { keyFile: string; keyId: string; trustListFile: string } {
  const keyFile = path.join(dir, `${holder}-signing-key.pem`);
  const trustListFile = path.join(dir, listName);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(keyFile)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    try {
      writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process made it between the check and the write: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const publicKey = createPublicKey(loadSigningKey(keyFile));
  const keyId = keyIdFor(createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex'));
  const listed = existsSync(trustListFile) ? loadTrustList(trustListFile) : undefined;
  if (!listed?.keys.has(keyId)) {
    const entries: TrustListEntry[] = listed ? JSON.parse(readFileSync(trustListFile, 'utf8')).keys : [];
    const validFrom = new Date();
    entries.push({
      keyId,
      holder,
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      validFrom: validFrom.toISOString(),
      validUntil: new Date(validFrom.getTime() + DEVELOPMENT_KEY_DAYS * 24 * 3600 * 1000).toISOString(),
    });
    // Written beside and renamed over, so a department watching the file never reads half of it.
    const temporary = `${trustListFile}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ keys: entries }, null, 2)}\n`);
    renameSync(temporary, trustListFile);
  }
  return { keyFile, keyId, trustListFile };
}

/** Reads an Ed25519 private key PEM file; ConfigError naming the file when unreadable or not Ed25519. */
export function loadSigningKey(file: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`signing key ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new ConfigError(`signing key ${file} is not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`signing key ${file} must be an Ed25519 private key, got ${key.asymmetricKeyType}`);
  return key;
}
