import { CircuitBreaker, type CircuitState } from '../gateway/circuit-breaker';

function breakerAt(start = 0) {
  let now = start;
  const changes: CircuitState[] = [];
  const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 1000, now: () => now, onStateChange: (state) => changes.push(state) });
  return { breaker, changes, advance: (ms: number) => (now += ms) };
}

test('stays closed below the threshold; a success resets the count of consecutive failures', () => {
  const { breaker, changes } = breakerAt();
  breaker.recordFailure();
  breaker.recordFailure();
  breaker.recordSuccess();
  breaker.recordFailure();
  breaker.recordFailure();
  expect(breaker.state).toBe('closed');
  expect(breaker.tryAcquire()).toBe(true);
  expect(changes).toEqual([]);
});

test('opens at the threshold and refuses calls until the open period has passed', () => {
  const { breaker, changes, advance } = breakerAt();
  for (let i = 0; i < 3; i += 1) breaker.recordFailure();
  expect(breaker.state).toBe('open');
  expect(breaker.tryAcquire()).toBe(false);
  advance(999);
  expect(breaker.tryAcquire()).toBe(false);
  advance(1);
  expect(breaker.state).toBe('half-open');
  expect(changes).toEqual(['open', 'half-open']);
});

test('half-open lets exactly one probe through; its success closes the circuit', () => {
  const { breaker, changes, advance } = breakerAt();
  for (let i = 0; i < 3; i += 1) breaker.recordFailure();
  advance(1000);
  expect(breaker.tryAcquire()).toBe(true);
  expect(breaker.tryAcquire()).toBe(false);
  breaker.recordSuccess();
  expect(breaker.state).toBe('closed');
  expect(breaker.tryAcquire()).toBe(true);
  expect(changes).toEqual(['open', 'half-open', 'closed']);
});

test('a failed probe opens the circuit for another full period', () => {
  const { breaker, changes, advance } = breakerAt();
  for (let i = 0; i < 3; i += 1) breaker.recordFailure();
  advance(1000);
  expect(breaker.tryAcquire()).toBe(true);
  breaker.recordFailure();
  expect(breaker.state).toBe('open');
  advance(999);
  expect(breaker.tryAcquire()).toBe(false);
  advance(1);
  expect(breaker.tryAcquire()).toBe(true);
  expect(changes).toEqual(['open', 'half-open', 'open', 'half-open']);
});
