import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { sha256Hex } from '../../audit/receipt';
import { CATALOG_FILE, loadCatalog } from '../../lib/catalog';
import { ConfigError, integerFromEnv, stringFromEnv } from '../../lib/env';
import { ErrorCode } from '../../lib/error-codes';
import { certificateExpiry, expiryWarningWords, federationTransportFromEnv, plainHttpWarning, type FederationTransport } from '../../lib/federation-transport';
import type { ErrorAnswer } from '../../lib/graphql-http';
import { createRequestVerifier } from '../../lib/http-signatures';
import type { Logger } from '../../lib/logger';
import { watchTlsMaterial, type TlsMaterial } from '../../lib/tls-files';
import { watchTrustList } from '../../lib/trust-list';
import { departmentPurposePlugin } from './purpose-guard';

/** What a department trusts, and how it proves itself: every setting here is read once at start. */
export interface DepartmentSecurityConfig extends FederationTransport {
  /** PROOFLESS_GATEWAY_KEYS_FILE: the trust list of gateway request-signing keys; default `<pki>/gateway-keys.json` in development, required in production. */
  trustListFile: string;
  /** PROOFLESS_CATALOG, default schema/proof-catalog.json: the purposes the department's own data may be read for. */
  catalogFile: string;
  /**
   * PROOFLESS_TLS_CLIENT_NAMES, default `gateway`: the names (SAN DNS) a client certificate
   * must carry to be let past the handshake's CA check. Every process of the federation has
   * a certificate from the same CA; without this, a department could call another one
   * directly. A name ending in `-*` allows that prefix (`gateway-*` for numbered instances).
   */
  clientNames: string[];
  /** PROOFLESS_TLS_EXPIRY_CHECK_HOURS, default 6: how often the log is told again of a certificate within its warning period (expiryWarningDays). */
  expiryCheckHours: number;
}

export function departmentSecurityFromEnv(env: NodeJS.ProcessEnv, name: string): DepartmentSecurityConfig {
  const transport = federationTransportFromEnv(env, name);
  const trustListFile = env.PROOFLESS_GATEWAY_KEYS_FILE;
  if (!trustListFile && env.NODE_ENV === 'production') {
    throw new ConfigError('PROOFLESS_GATEWAY_KEYS_FILE is required in production: the trust list of the gateway keys this department accepts signed requests from');
  }
  return {
    ...transport,
    trustListFile: path.resolve(trustListFile ?? path.join(transport.pkiDir, 'gateway-keys.json')),
    catalogFile: path.resolve(stringFromEnv(env, 'PROOFLESS_CATALOG', CATALOG_FILE)),
    clientNames: clientNamesFromEnv(env),
    expiryCheckHours: integerFromEnv(env, 'PROOFLESS_TLS_EXPIRY_CHECK_HOURS', 6, { min: 1, max: 168 }),
  };
}

function clientNamesFromEnv(env: NodeJS.ProcessEnv): string[] {
  const names = stringFromEnv(env, 'PROOFLESS_TLS_CLIENT_NAMES', 'gateway').split(',').map((name) => name.trim()).filter((name) => name !== '');
  const bad = names.find((name) => !/^[a-z][a-z0-9-]{0,62}(-\*)?$/.test(name));
  if (names.length === 0 || bad !== undefined) throw new ConfigError(`PROOFLESS_TLS_CLIENT_NAMES must be comma-separated certificate names (gateway, gateway-*), got "${env.PROOFLESS_TLS_CLIENT_NAMES}"`);
  return names;
}

/**
 * Whether a client certificate's SAN DNS names include one of `allowed` (a name ending in
 * `-*` allows its prefix). Decided once per connection: the certificate cannot change on
 * it, and reading it on every request was 6% of a department's CPU (docs/benchmarks.md).
 */
function isAllowedClient(socket: IncomingMessage['socket'], allowed: readonly string[], decided: WeakMap<object, boolean>): boolean {
  let isAllowed = decided.get(socket);
  if (isAllowed === undefined) {
    isAllowed = namesAllowedClient(socket, allowed);
    decided.set(socket, isAllowed);
  }
  return isAllowed;
}

/** The first DNS name of the client certificate on `socket`, or what stands for none: the refused client's name in an aggregate of refusals. */
export function clientCertificateName(socket: IncomingMessage['socket']): string {
  const certificate = (socket as TLSSocket).getPeerCertificate?.();
  const dnsName = (certificate?.subjectaltname ?? '').split(', ').find((entry) => entry.startsWith('DNS:'));
  return dnsName ? dnsName.slice(4) : 'a client without a certificate';
}

function namesAllowedClient(socket: IncomingMessage['socket'], allowed: readonly string[]): boolean {
  const certificate = (socket as TLSSocket).getPeerCertificate?.();
  const dnsNames = (certificate?.subjectaltname ?? '').split(', ').filter((entry) => entry.startsWith('DNS:')).map((entry) => entry.slice(4));
  return dnsNames.some((name) => allowed.some((pattern) => (pattern.endsWith('-*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern)));
}

/** A department's server certificate and the CA its clients' certificates must come from, as they are now and as they rotate. */
export interface DepartmentTls {
  current(): TlsMaterial;
  /** Called with the new material whenever the files change and load. */
  onRotate(listener: (material: TlsMaterial) => void): void;
  /** A connection refused in the TLS handshake: no client certificate, one from another CA, plain HTTP. */
  onHandshakeFailure(error: Error, remoteAddress: string | undefined): void;
}

/** How one department refuses everyone but the gateway, and the gateway beyond what the catalog allows. */
export interface DepartmentSecurity {
  /** Absent only under the development switch for plain HTTP. */
  tls?: DepartmentTls;
  /** The gateway's signature on the request as it arrived (RFC 9421, Ed25519, with its Content-Digest); a refusal is a coded 401 (403 for another department's request). */
  admit(req: IncomingMessage, body: Buffer, requestId: string): ErrorAnswer | undefined;
  /**
   * What admit() verified of this request's signature, kept from its signature check on
   * (even when it then refused the request as another department's); undefined when no
   * signature verified. The access log records it and the receipt names it.
   */
  verifiedRequest(req: IncomingMessage): VerifiedGatewayRequest | undefined;
  /**
   * admit()'s checks for any other path the gateway calls (the witness route, WITNESS_PATH):
   * the client certificate's name, the gateway's signature over the request and `body`,
   * and the department it was signed for; each refusal logged, as admit() logs it.
   */
  verifyGatewayRequest(req: IncomingMessage, body: Buffer, requestId: string): GatewayRequestCheck;
  /** The department's own purpose check (purpose-guard.ts) and the log line of each refusal it makes. */
  plugins: ApolloServerPlugin<BaseContext>[];
  close(): void;
}

/** A request whose gateway signature verified: the key that signed it and the SHA-256 hex of the signature base verified. */
export interface VerifiedGatewayRequest {
  gatewayKeyId: string;
  requestDigest: string;
}

/** The checks of one request: the refusal, if any, and what verified (a request signed for another department verified, and is refused). */
export interface GatewayRequestCheck {
  refusal?: ErrorAnswer;
  verified?: VerifiedGatewayRequest;
}

/**
 * Opens what department `name` needs to trust no one: its TLS files and the gateway keys'
 * trust list, each watched and reloaded when the files change (certificates and keys
 * rotate without a restart), and the proof catalog. A file that cannot be read refuses the
 * start, naming the file and the reason. Every refusal is logged with the request ID.
 */
export function openDepartmentSecurity(name: string, config: DepartmentSecurityConfig, logger: Logger, now: () => number = Date.now): DepartmentSecurity {
  const catalog = loadCatalogOrFail(config.catalogFile);
  const trustList = watchTrustList(config.trustListFile, {
    onReload: (list) => logger.info({ file: list.file, keys: [...list.keys.keys()] }, `${name}: reloaded the trust list of gateway keys`),
    onError: (error) => logger.error({ file: config.trustListFile, reason: error.message }, `${name}: the trust list of gateway keys changed but cannot be loaded; keeping the previous one`),
  });
  const closers: Array<() => void> = [() => trustList.close()];
  let tls: DepartmentTls | undefined;
  if (config.tlsFiles) {
    const listeners: Array<(material: TlsMaterial) => void> = [];
    const warnIfExpiring = (material: TlsMaterial) => {
      const { daysLeft, isExpiringSoon } = certificateExpiry(material.notAfter, now(), config.expiryWarningDays);
      if (!isExpiringSoon) return;
      logger.warn({ certificate: material.files.certFile, notAfter: material.notAfter.toISOString(), daysLeft }, `${name}: ${expiryWarningWords(undefined, daysLeft, material.notAfter.getTime() <= now())}`);
    };
    const watched = watchTlsMaterial(config.tlsFiles, {
      onReload: (material) => {
        logger.info({ certificate: material.files.certFile, notAfter: material.notAfter.toISOString() }, `${name}: reloaded its TLS certificate`);
        warnIfExpiring(material);
        for (const listener of listeners) listener(material);
      },
      onError: (error) => logger.error({ reason: error.message }, `${name}: the TLS files changed but cannot be loaded; keeping the previous ones`),
    });
    warnIfExpiring(watched.current());
    const expiryTimer = setInterval(() => warnIfExpiring(watched.current()), config.expiryCheckHours * 3_600_000).unref();
    closers.push(() => watched.close(), () => clearInterval(expiryTimer));
    tls = {
      current: () => watched.current(),
      onRotate: (listener) => listeners.push(listener),
      onHandshakeFailure: (error, remoteAddress) => logger.warn({ remoteAddress, reason: error.message }, `${name}: refused a connection in the TLS handshake`),
    };
  } else {
    logger.warn(plainHttpWarning(name));
  }
  const verify = createRequestVerifier({ trustList: () => trustList.current(), now });
  const scheme = tls ? 'https' : 'http';
  const clientDecisions = new WeakMap<object, boolean>();
  const verifiedRequests = new WeakMap<IncomingMessage, VerifiedGatewayRequest>();
  const verifyGatewayRequest = (req: IncomingMessage, body: Buffer, requestId: string): GatewayRequestCheck => {
    if (tls && !isAllowedClient(req.socket, config.clientNames, clientDecisions)) {
      logger.warn({ requestId, code: ErrorCode.FORBIDDEN, remoteAddress: req.socket.remoteAddress }, `${name}: refused a client whose certificate does not name the gateway`);
      return { refusal: { status: 403, code: ErrorCode.FORBIDDEN, message: `only the gateway may call a department: the client certificate must name ${config.clientNames.join(' or ')}` } };
    }
    const targetUri = `${scheme}://${req.headers.host ?? ''}${req.url ?? '/'}`;
    const verdict = verify({ method: req.method ?? 'GET', targetUri, rawHeaders: req.rawHeaders, body });
    if (!verdict.ok) {
      logger.warn({ requestId, code: verdict.code, reason: verdict.reason, remoteAddress: req.socket.remoteAddress }, `${name}: refused an unsigned or badly signed request`);
      return { refusal: { status: 401, code: ErrorCode[verdict.code], message: verdict.reason } };
    }
    const verified = { gatewayKeyId: verdict.signature.keyId, requestDigest: sha256Hex(verdict.signatureBase) };
    verifiedRequests.set(req, verified);
    const meant = req.headers['x-proofless-department'];
    if (meant !== name) {
      logger.warn({ requestId, code: ErrorCode.FORBIDDEN, keyId: verdict.signature.keyId, meant }, `${name}: refused a request signed for another department`);
      return { refusal: { status: 403, code: ErrorCode.FORBIDDEN, message: `the request was signed for another department, not ${name}` }, verified };
    }
    return { verified };
  };
  return {
    tls,
    admit: (req, body, requestId) => verifyGatewayRequest(req, body, requestId).refusal,
    verifiedRequest: (req) => verifiedRequests.get(req),
    verifyGatewayRequest,
    plugins: [departmentPurposePlugin({ department: name, catalog }), refusalLog(name, logger)],
    close() {
      for (const close of closers) close();
    },
  };
}

function loadCatalogOrFail(file: string) {
  try {
    return loadCatalog(file);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** Codes of a department's refusals of a signed request (its purpose check), each logged. */
const REFUSAL_CODES = new Set<string>([ErrorCode.FORBIDDEN, ErrorCode.UNAUTHENTICATED]);

/** One log line, with the request ID, for every request the department's purpose check refused. */
function refusalLog(name: string, logger: Logger): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, request }) {
          const refusal = errors.find((error) => REFUSAL_CODES.has(String(error.extensions?.code)));
          if (!refusal) return;
          logger.warn({ requestId: request.http?.headers.get('x-request-id'), code: refusal.extensions.code, reason: refusal.message }, `${name}: refused a signed request beyond its purpose`);
        },
      };
    },
  };
}
