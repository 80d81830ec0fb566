import { createPublicKey, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { beforeExecution, unauthenticated as unauthenticatedError } from '../lib/error-codes';

/** Who is asking, from a verified token. */
export interface Caller {
  /** The calling service system (`app` claim). */
  application: string;
  /** The officer acting, by staff ID (`sub` claim). */
  officer: string;
  /** `service` reads citizen facts for a purpose; `auditor` reads audit data; anything else gets nothing. */
  role: string;
  /** Service item codes the application may act for (`items` claim). */
  serviceItems: string[];
  /** OAuth scopes (`scope` claim, space-separated), checked against departments' `@requiresScopes`. */
  scopes: string[];
}

/** Token problems surface while the request's context is built, before execution: a 401 with its challenge. */
const unauthenticated = (message: string) => beforeExecution(unauthenticatedError(message));

export interface AuthConfig {
  issuer: string;
  audience: string;
  /** Tolerated clock difference for `exp`, `nbf` and `iat`, in seconds. */
  clockSkewSeconds: number;
  /** The longest a token may live, `exp` - `iat` (or `exp` - now without `iat`), in seconds; default 86400 (a day). */
  maxLifetimeSeconds?: number;
  /** Shared HS256 secret: development only (the config refuses it in production). */
  hs256Secret?: Uint8Array;
  /** One public key (RS256, ES256 P-256 or EdDSA Ed25519, from its type), PEM. */
  publicKeyPem?: string;
  /** A local JWKS document: key rotation without a network. */
  jwks?: JSONWebKeySet;
}

/** Verified tokens remembered, at most; the oldest is forgotten first. */
const VERIFIED_TOKENS = 10000;

/**
 * Builds the bearer-token check. No Authorization header gives null (an anonymous caller,
 * who may ask `{ __typename }` and nothing else); a header that does not carry a valid
 * token for this gateway is a 401. Messages say what is wrong with the token, never its
 * contents or any key.
 *
 * A service system sends the same token with every request until it expires, and an
 * RS256 signature check costs more CPU than the rest of a request's checks together. So
 * a token that verified is remembered with its caller until its `exp` (plus the skew);
 * past that, or before its `nbf`, it is verified again, which refuses it with the usual
 * message. Only the exact token string is remembered: a token changed in any way is
 * verified in full.
 */
export function createAuthenticator(config: AuthConfig, now: () => number = Date.now): (authorization: string | undefined) => Promise<Caller | null> {
  const getKey = keyResolver(config);
  const algorithms = [
    ...(config.hs256Secret ? ['HS256'] : []),
    ...(config.publicKeyPem || config.jwks ? ['RS256', 'ES256', 'EdDSA'] : []),
  ];
  const skewMs = config.clockSkewSeconds * 1000;
  const verified = new Map<string, { caller: Caller; validFromMs: number; validUntilMs: number }>();
  return async function authenticate(authorization) {
    if (authorization === undefined || authorization === '') return null;
    // The scheme is case-insensitive (RFC 7235 section 2.1): `bearer` is Bearer.
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i.exec(authorization);
    if (!match) throw unauthenticated('Authorization must be "Bearer <JWT>"');
    const token = match[1];
    const known = verified.get(token);
    const at = now();
    if (known && at >= known.validFromMs && at <= known.validUntilMs) return known.caller;
    verified.delete(token);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: config.issuer,
        audience: config.audience,
        clockTolerance: config.clockSkewSeconds,
        algorithms,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(at),
      }));
    } catch (error) {
      throw unauthenticated(describeTokenError(error));
    }
    checkLifetime(payload, at / 1000, config);
    // Shared by every request that carries the token: no one may change it.
    const caller = Object.freeze(callerFromClaims(payload));
    if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value as string);
    verified.set(token, {
      caller,
      validFromMs: payload.nbf === undefined ? 0 : payload.nbf * 1000 - skewMs,
      validUntilMs: (payload.exp as number) * 1000 + skewMs,
    });
    return caller;
  };
}

function keyResolver(config: AuthConfig): JWTVerifyGetKey {
  const jwks = config.jwks ? createLocalJWKSet(config.jwks) : undefined;
  const publicKey: KeyObject | undefined = config.publicKeyPem ? createPublicKey(config.publicKeyPem) : undefined;
  return async (header, token) => {
    if (header.alg === 'HS256') {
      if (!config.hs256Secret) throw new joseErrors.JOSEAlgNotAllowed('HS256 is not accepted');
      return config.hs256Secret;
    }
    if (jwks) return jwks(header, token);
    if (publicKey) return publicKey;
    throw new joseErrors.JOSEAlgNotAllowed(`${header.alg} is not accepted`);
  };
}

/**
 * A stolen token is worth what it has left to live: one issued for years, or dated in the
 * future to stretch the lifetime it claims, is refused. jose checks `iat` only against a
 * maximum age, which is not this (a token may be used until its `exp`).
 */
function checkLifetime(payload: JWTPayload, nowSeconds: number, config: AuthConfig): void {
  const maxLifetime = config.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > nowSeconds + config.clockSkewSeconds)) {
    throw unauthenticated('the bearer token was issued in the future (iat)');
  }
  const lifetime = Math.round((payload.exp as number) - (payload.iat ?? nowSeconds));
  if (lifetime > maxLifetime) throw unauthenticated(`the bearer token must expire within ${maxLifetime} s of being issued, got ${lifetime} s`);
}

/** The longest lifetime a token may have, unless configured otherwise: one day. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86400;

function callerFromClaims(payload: JWTPayload): Caller {
  const { app, role, items, scope, sub } = payload as JWTPayload & Record<string, unknown>;
  if (typeof sub !== 'string' || sub.trim() === '') throw unauthenticated('the bearer token must name the officer acting (sub claim)');
  if (typeof app !== 'string' || app === '') throw unauthenticated('the bearer token must name the calling application (app claim)');
  if (typeof role !== 'string' || role === '') throw unauthenticated('the bearer token must name a role (role claim)');
  if (items !== undefined && !(Array.isArray(items) && items.every((item) => typeof item === 'string'))) {
    throw unauthenticated('the bearer token\'s items claim must be a list of service item codes');
  }
  if (scope !== undefined && typeof scope !== 'string') throw unauthenticated('the bearer token\'s scope claim must be a space-separated string');
  return {
    application: app,
    officer: sub as string,
    role,
    serviceItems: (items as string[] | undefined) ?? [],
    scopes: scope ? scope.split(' ').filter(Boolean) : [],
  };
}

function describeTokenError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the bearer token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud': return 'the bearer token is not for this gateway (aud)';
      case 'iss': return 'the bearer token was not issued by a trusted issuer (iss)';
      case 'nbf': return 'the bearer token is not valid yet (nbf)';
      case 'sub': return 'the bearer token must name the officer acting (sub claim)';
      case 'exp': return 'the bearer token must have an expiry (exp claim)';
      default: return `the bearer token's ${error.claim} claim is invalid`;
    }
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the bearer token\'s signature is invalid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JWKSNoMatchingKey) {
    return 'the bearer token is signed with an algorithm or key this gateway does not accept';
  }
  return 'the bearer token is malformed';
}
