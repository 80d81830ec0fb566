import type Redis from 'ioredis';

/** The Redis channel departments publish registry changes on (subgraphs/shared/registry-changes.ts) and every gateway listens to. */
export const REGISTRY_CHANGES_CHANNEL = 'proofless:registry-changes';

/** One message: a department changed the record of one citizen, named by pseudonym (lib/pseudonym.ts with the shared pseudonym key), never by ID number. */
export interface RegistryChange {
  department: string;
  citizen: string;
}

export function encodeRegistryChange(change: RegistryChange): string {
  return JSON.stringify({ department: change.department, citizen: change.citizen });
}

/** The change a message announces, or undefined for anything else on the channel. */
export function decodeRegistryChange(message: string): RegistryChange | undefined {
  try {
    const { department, citizen } = JSON.parse(message) as Record<string, unknown>;
    if (typeof department !== 'string' || !/^[a-z][a-z0-9-]*$/.test(department)) return undefined;
    if (typeof citizen !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(citizen)) return undefined;
    return { department, citizen };
  } catch {
    return undefined;
  }
}

/**
 * Hears every registry change on `subscriber` (a connection of its own: a subscribed
 * connection can do nothing else) and passes it on. ioredis reconnects and subscribes
 * again by itself after an outage. Resolves once subscribed, or after `waitMs` when Redis
 * does not answer; the subscription then completes whenever Redis is back.
 */
export async function listenForRegistryChanges(subscriber: Redis, onChange: (change: RegistryChange) => void, waitMs: number): Promise<void> {
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== REGISTRY_CHANGES_CHANNEL) return;
    const change = decodeRegistryChange(message);
    if (change) onChange(change);
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    subscriber.subscribe(REGISTRY_CHANGES_CHANNEL).catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, waitMs);
    }),
  ]);
  clearTimeout(timer);
}
