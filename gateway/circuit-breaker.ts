export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit; default 5. */
  failureThreshold?: number;
  /** How long the circuit stays open before one probe is let through, in ms; default 10000. */
  openMs?: number;
  /** The clock; default `Date.now`. */
  now?: () => number;
  /** Told of every change of state (for logs and metrics). */
  onStateChange?: (state: CircuitState) => void;
}

/**
 * One department's circuit. Closed: calls go through and consecutive failures are
 * counted. Open: calls fail at once, so a department that is down costs callers nothing
 * and gets room to recover. After `openMs` it is half-open: one call goes through as a
 * probe; its success closes the circuit, its failure opens it again for another `openMs`.
 */
export class CircuitBreaker {
  private readonly failureThreshold: number;
  private readonly openMs: number;
  private readonly now: () => number;
  private current: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private isProbeOut = false;

  constructor(private readonly options: CircuitBreakerOptions = {}) {
    this.failureThreshold = options.failureThreshold ?? 5;
    this.openMs = options.openMs ?? 10000;
    this.now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.openMs) this.moveTo('half-open');
    return this.current;
  }

  /** Whether a call may go to the department now; in half-open, true once, for the probe. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.isProbeOut) return false;
    this.isProbeOut = true;
    return true;
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.isProbeOut = false;
    if (this.current !== 'closed') this.moveTo('closed');
  }

  recordFailure(): void {
    this.isProbeOut = false;
    this.consecutiveFailures += 1;
    if (this.current === 'half-open' || (this.current === 'closed' && this.consecutiveFailures >= this.failureThreshold)) {
      this.openedAt = this.now();
      this.moveTo('open');
    }
  }

  private moveTo(state: CircuitState): void {
    this.current = state;
    this.options.onStateChange?.(state);
  }
}
