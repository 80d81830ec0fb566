import type Redis from 'ioredis';
import { encodeRegistryChange, REGISTRY_CHANGES_CHANNEL } from '../../gateway/cache/invalidation';
import { badUserInput } from '../../lib/error-codes';
import { checkIdNumber } from '../../lib/id-number';
import { pseudonym } from '../../lib/pseudonym';

/**
 * For a department whose registry record of a citizen has changed: tells every gateway,
 * through Redis, to drop the answers it keeps from this department about that citizen.
 * Call it after the change is committed. The citizen is named by pseudonym (HMAC with
 * the pseudonym key the gateways use, PROOFLESS_PSEUDONYM_KEY_FILE), never by ID number.
 *
 * Returns how many gateways heard it. With none listening nothing is dropped, and kept
 * answers about the citizen last until their TTL (PROOFLESS_CACHE_TTL_<DEPARTMENT>).
 */
export async function publishRegistryChange(redis: Redis, pseudonymKey: Uint8Array, department: string, idNumber: string): Promise<number> {
  const check = checkIdNumber(idNumber);
  if (!check.ok) throw badUserInput(`idNumber ${check.problem}`);
  return redis.publish(REGISTRY_CHANGES_CHANNEL, encodeRegistryChange({ department, citizen: pseudonym(pseudonymKey, check.idNumber) }));
}
