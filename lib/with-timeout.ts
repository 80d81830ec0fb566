/**
 * `promise`, or a rejection with `message` once `ms` have passed, whichever comes first.
 * The work behind the promise is not cancelled (a store may still finish its write); only
 * the waiting stops. The timer is cleared either way, so it never holds a process open.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
