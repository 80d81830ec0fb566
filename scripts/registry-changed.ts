import Redis from 'ioredis';
import { secretFromEnv } from '../gateway/config';
import { listDepartments } from '../lib/composition';
import { ensureDevSecret } from '../lib/dev-secrets';
import { ConfigError, urlFromEnv } from '../lib/env';
import { dataDirFromEnv } from '../lib/paths';
import { publishRegistryChange } from '../subgraphs/shared/registry-changes';

/**
 * `npm run registry:changed -- <department> <idNumber>`: for a department's own systems,
 * after a change to a citizen's record is committed. Every gateway listening on
 * PROOFLESS_REDIS_URL drops the answers it keeps from that department about the citizen.
 * Needs the gateways' pseudonym key (PROOFLESS_PSEUDONYM_KEY_FILE; the data folder's
 * development key otherwise). The ID number is never printed.
 *
 * Exit 0 when at least one gateway heard it, 1 when none was listening (kept answers then
 * last until their TTL), 2 when it could not be sent.
 */
class UsageError extends Error {}

const USAGE = 'usage: npm run registry:changed -- <department> <idNumber>';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length !== 2) throw new UsageError(`expected two arguments, got ${args.length}; ${USAGE}`);
  const [department, idNumber] = args;
  const departments = listDepartments().map(({ name }) => name);
  if (!departments.includes(department)) throw new UsageError(`department must be one of ${departments.join(', ')}, got "${department}"`);
  const redisUrl = urlFromEnv(process.env, 'PROOFLESS_REDIS_URL', ['redis:', 'rediss:']);
  if (!redisUrl) throw new ConfigError('PROOFLESS_REDIS_URL is required: gateways hear registry changes through Redis');
  const isDevelopment = process.env.NODE_ENV !== 'production';
  const pseudonymKey = secretFromEnv(process.env, 'PROOFLESS_PSEUDONYM_KEY_FILE', isDevelopment ? () => ensureDevSecret(dataDirFromEnv(process.env), 'dev-pseudonym-key') : undefined);
  // One try: a department's job should learn at once that Redis is not there.
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const gateways = await publishRegistryChange(redis, pseudonymKey, department, idNumber);
    if (gateways === 0) {
      console.error(`registry:changed: no gateway is listening; answers they keep from ${department} about this citizen last until their TTL`);
      process.exitCode = 1;
    } else {
      console.log(`registry:changed: sent to ${gateways} gateway(s); they drop the answers they keep from ${department} about this citizen`);
    }
  } finally {
    redis.disconnect();
  }
}

main().catch((error: Error) => {
  const isUsage = error instanceof UsageError || error instanceof ConfigError || (error as { extensions?: { code?: string } }).extensions?.code === 'BAD_USER_INPUT';
  console.error(`registry:changed: ${isUsage ? error.message : `cannot reach Redis: ${error.message}`}`);
  process.exit(2);
});
