/**
 * How long one department answer may be kept, in milliseconds (0: not at all), from the
 * operator's TTL for the department and the hint in the department's `cache-control`:
 *
 * - `max-age=N` shortens the TTL to N seconds; it never lengthens it, because the operator's
 *   TTL is the bound on how stale a fact the gateway will hand out. `max-age=0` is how a
 *   department says "never cache this answer".
 * - `private` means the answer depends on who asks. Cache keys hold the department, query
 *   and variables, not the caller, so such an answer is not cached at all.
 * - `no-store` is read as no hint. Apollo Server writes `cache-control: no-store` on every
 *   answer that carries no cache hint (every answer our subgraphs give, checked: household,
 *   residence and licence answers all say `no-store`), so honouring it would switch the
 *   cache off; a department that means it sends `max-age=0` or `private`, or the operator
 *   sets its TTL to 0.
 */
export function keepForMs(configuredTtlSeconds: number, cacheControl: string | null | undefined): number {
  let seconds = configuredTtlSeconds;
  for (const directive of (cacheControl ?? '').toLowerCase().split(',')) {
    const [name, value] = directive.trim().split('=');
    if (name === 'private') return 0;
    if (name === 'max-age' && value !== undefined && /^\d+$/.test(value.trim())) seconds = Math.min(seconds, Number(value.trim()));
  }
  return seconds * 1000;
}
