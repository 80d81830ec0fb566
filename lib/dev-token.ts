import { SignJWT } from 'jose';

export interface DevTokenClaims {
  application: string;
  officer: string;
  role: string;
  serviceItems: string[];
  scopes: string[];
  /** Lifetime in seconds; default 8 hours, one working day at a service window. */
  ttlSeconds?: number;
}

/** Signs an HS256 token with the development secret, in the claim layout the gateway reads (`app`, `sub`, `role`, `items`, `scope`). */
export function signDevToken(secret: Uint8Array, issuer: string, audience: string, claims: DevTokenClaims): Promise<string> {
  return new SignJWT({ app: claims.application, role: claims.role, items: claims.serviceItems, scope: claims.scopes.join(' ') })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(claims.officer)
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlSeconds ?? 8 * 3600}s`)
    .sign(secret);
}
