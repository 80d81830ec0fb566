import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../lib/env';
import { createRequestSigner, createRequestVerifier } from '../lib/http-signatures';
import { ensureDevelopmentSigningKey, loadSigningKey, loadTrustList, watchTrustList, type TrustList } from '../lib/trust-list';

const first = generateKeyPairSync('ed25519');
const second = generateKeyPairSync('ed25519');

function pemOf(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { keyId: 'gateway-1', holder: 'gateway', publicKey: pemOf(first.publicKey), validFrom: '2026-01-01T00:00:00Z', validUntil: '2027-01-01T00:00:00Z', ...overrides };
}

describe('the trust list of gateway keys', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'proofless-trust-'));
    file = path.join(dir, 'gateway-keys.json');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Written beside and renamed over, as an operator's tooling (or ensureDevelopmentSigningKey) does. */
  function write(contents: unknown): void {
    const temporary = `${file}.tmp`;
    writeFileSync(temporary, typeof contents === 'string' ? contents : JSON.stringify(contents));
    renameSync(temporary, file);
  }

  it('loads a good file', () => {
    write({ keys: [entry(), entry({ keyId: 'gateway-2', publicKey: pemOf(second.publicKey), validFrom: '2026-06-01', validUntil: '2026-12-31T23:59:59.999+08:00' })] });
    const list = loadTrustList(file);
    expect(list.file).toBe(file);
    expect([...list.keys.keys()]).toEqual(['gateway-1', 'gateway-2']);
    const [one, two] = list.keys.values();
    expect(one).toEqual({ keyId: 'gateway-1', holder: 'gateway', publicKey: expect.anything(), validFrom: new Date('2026-01-01T00:00:00Z'), validUntil: new Date('2027-01-01T00:00:00Z') });
    expect(one.publicKey.equals(first.publicKey)).toBe(true);
    expect(two.validFrom).toEqual(new Date('2026-06-01T00:00:00Z'));
    expect(two.validUntil).toEqual(new Date('2026-12-31T15:59:59.999Z'));
    expect(two.publicKey.equals(second.publicKey)).toBe(true);
  });

  describe('refuses, naming the file and what is wrong', () => {
    const refused = (message: string) => {
      expect(() => loadTrustList(file)).toThrow(ConfigError);
      expect(() => loadTrustList(file)).toThrow(`trust list ${file}${message}`);
    };

    it('a file that cannot be read', () => {
      refused(' cannot be read (ENOENT)');
    });

    it('a file that is not JSON', () => {
      write('{ "keys": [ ');
      refused(' is not JSON');
    });

    it('JSON without a keys list', () => {
      write([entry()]);
      refused(' must be a JSON object with a "keys" list');
      write({ keys: entry() });
      refused(' must be a JSON object with a "keys" list');
      write('null');
      refused(' must be a JSON object with a "keys" list');
    });

    it('an empty list', () => {
      write({ keys: [] });
      refused(' lists no keys');
    });

    it('an entry that is not an object, or lacks a field', () => {
      write({ keys: [entry(), 'gateway-2'] });
      refused(': keys[1] must be an object');
      write({ keys: [entry({ keyId: undefined })] });
      refused(': keys[0].keyId must be a non-empty string, got nothing');
      write({ keys: [entry({ holder: '' })] });
      refused(': keys[0].holder must be a non-empty string, got ""');
      write({ keys: [entry({ validFrom: 1767225600 })] });
      refused(': keys[0].validFrom must be a non-empty string, got 1767225600');
    });

    it('a public key that is not a PEM public key, or not Ed25519', () => {
      write({ keys: [entry(), entry({ keyId: 'gateway-2', publicKey: first.privateKey.export({ type: 'pkcs8', format: 'pem' }) })] });
      refused(': keys[1].publicKey must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
      write({ keys: [entry({ publicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' })] });
      refused(': keys[0].publicKey is not a readable PEM public key');
      write({ keys: [entry(), entry({ keyId: 'gateway-2', publicKey: pemOf(second.publicKey) }), entry({ keyId: 'gateway-3', publicKey: pemOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey) })] });
      refused(': keys[2].publicKey is not an Ed25519 public key, got ec');
    });

    it('a date that is not ISO 8601, or a window that ends before it starts', () => {
      write({ keys: [entry({ validFrom: 'yesterday' })] });
      refused(': keys[0].validFrom must be an ISO 8601 date such as 2026-01-31 or 2026-01-31T08:00:00+08:00, got "yesterday"');
      write({ keys: [entry({ validUntil: '01/01/2027' })] });
      refused(': keys[0].validUntil must be an ISO 8601 date such as 2026-01-31 or 2026-01-31T08:00:00+08:00, got "01/01/2027"');
      write({ keys: [entry({ validUntil: '2026-02-30T00:00:00' })] });
      refused(': keys[0].validUntil must be an ISO 8601 date such as 2026-01-31 or 2026-01-31T08:00:00+08:00, got "2026-02-30T00:00:00"');
      write({ keys: [entry({ validFrom: '2027-01-01T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' })] });
      refused(': keys[0].validUntil (2026-01-01T00:00:00Z) must be after validFrom (2027-01-01T00:00:00Z)');
    });

    it('a keyId listed twice', () => {
      write({ keys: [entry(), entry({ publicKey: pemOf(second.publicKey) })] });
      refused(': keys[1].keyId "gateway-1" is listed twice');
    });
  });

  describe('watched', () => {
    /** Each call of the callback resolves the next awaited promise, in order: no sleeps. */
    function calls<T>(): { callback: (value: T) => void; next: () => Promise<T> } {
      const values: T[] = [];
      const waiting: Array<(value: T) => void> = [];
      return {
        callback: (value) => {
          const resolve = waiting.shift();
          if (resolve) resolve(value);
          else values.push(value);
        },
        next: () => (values.length > 0 ? Promise.resolve(values.shift() as T) : new Promise<T>((resolve) => waiting.push(resolve))),
      };
    }

    it('reloads on change, and keeps the last good list when an edit does not load', async () => {
      write({ keys: [entry()] });
      const reloads = calls<TrustList>();
      const errors = calls<Error>();
      const watcher = watchTrustList(file, { intervalMs: 10, onReload: reloads.callback, onError: errors.callback });
      try {
        expect([...watcher.current().keys.keys()]).toEqual(['gateway-1']);

        write({ keys: [entry(), entry({ keyId: 'gateway-2', publicKey: pemOf(second.publicKey) })] });
        const reloaded = await reloads.next();
        expect([...reloaded.keys.keys()]).toEqual(['gateway-1', 'gateway-2']);
        expect(watcher.current()).toBe(reloaded);

        write({ keys: [entry(), entry({ keyId: 'gateway-2', publicKey: 'not a key' })] });
        expect((await errors.next()).message).toBe(`trust list ${file}: keys[1].publicKey must be a PEM public key (-----BEGIN PUBLIC KEY-----)`);
        expect(watcher.current()).toBe(reloaded);

        // A list deleted is a list revoked: no key is trusted until it is back (an operator stopping a leaked key).
        rmSync(file);
        expect((await errors.next()).message).toBe(`trust list ${file} is gone: no gateway key is trusted until it is back`);
        expect(watcher.current().keys.size).toBe(0);

        write({ keys: [entry({ keyId: 'gateway-3', publicKey: pemOf(second.publicKey) })] });
        expect([...(await reloads.next()).keys.keys()]).toEqual(['gateway-3']);
        expect([...watcher.current().keys.keys()]).toEqual(['gateway-3']);
      } finally {
        watcher.close();
      }
    });

    it('does not start on a broken list', () => {
      write('[]');
      expect(() => watchTrustList(file, { intervalMs: 10 })).toThrow(`trust list ${file} must be a JSON object with a "keys" list`);
    });
  });

  describe('development signing keys', () => {
    it('makes a key (mode 0600) and lists it, once', () => {
      const made = ensureDevelopmentSigningKey(dir);
      expect(made).toEqual({ keyFile: path.join(dir, 'gateway-signing-key.pem'), keyId: expect.stringMatching(/^gateway-[0-9a-f]{8}$/), trustListFile: file });
      expect(statSync(made.keyFile).mode & 0o777).toBe(0o600);
      const list = loadTrustList(file);
      const listed = list.keys.get(made.keyId);
      expect(listed?.holder).toBe('gateway');
      expect(listed && listed.validUntil.getTime() - listed.validFrom.getTime()).toBe(365 * 24 * 3600 * 1000);

      const before = { key: readFileSync(made.keyFile, 'utf8'), list: readFileSync(file, 'utf8'), modified: statSync(file).mtimeMs };
      expect(ensureDevelopmentSigningKey(dir)).toEqual(made);
      expect({ key: readFileSync(made.keyFile, 'utf8'), list: readFileSync(file, 'utf8'), modified: statSync(file).mtimeMs }).toEqual(before);
    });

    it('adds a second holder\'s key to the same list', () => {
      const gateway = ensureDevelopmentSigningKey(dir);
      const bureau = ensureDevelopmentSigningKey(dir, 'service-bureau');
      expect(bureau.keyFile).toBe(path.join(dir, 'service-bureau-signing-key.pem'));
      expect(bureau.keyId).toMatch(/^service-bureau-[0-9a-f]{8}$/);
      expect([...loadTrustList(file).keys.keys()]).toEqual([gateway.keyId, bureau.keyId]);
    });

    it('a request signed with the key verifies against the list it wrote', () => {
      const { keyFile, keyId, trustListFile } = ensureDevelopmentSigningKey(dir);
      const headers = { 'content-type': 'application/json', 'x-request-id': 'req-0123456789', 'x-proofless-department': 'household' };
      const request = { method: 'POST', targetUri: 'http://127.0.0.1:4101/graphql', headers, body: '{"query":"{ __typename }"}' };
      const signed = { ...headers, ...createRequestSigner({ keyId, privateKey: loadSigningKey(keyFile) })(request) };
      const verifier = createRequestVerifier({ trustList: () => loadTrustList(trustListFile) });
      expect(verifier({ method: 'POST', targetUri: request.targetUri, rawHeaders: Object.entries(signed).flat(), body: Buffer.from(request.body) })).toMatchObject({
        ok: true,
        signature: { keyId },
      });
    });
  });

  describe('loadSigningKey refuses', () => {
    it('a file that cannot be read, is not a PEM private key, or holds another kind of key', () => {
      const keyFile = path.join(dir, 'key.pem');
      expect(() => loadSigningKey(keyFile)).toThrow(new ConfigError(`signing key ${keyFile} cannot be read (ENOENT)`));
      writeFileSync(keyFile, pemOf(first.publicKey));
      expect(() => loadSigningKey(keyFile)).toThrow(new ConfigError(`signing key ${keyFile} is not a PEM private key`));
      writeFileSync(keyFile, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
      expect(() => loadSigningKey(keyFile)).toThrow(new ConfigError(`signing key ${keyFile} must be an Ed25519 private key, got ec`));
      writeFileSync(keyFile, first.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      expect(loadSigningKey(keyFile).equals(first.privateKey)).toBe(true);
    });
  });
});
