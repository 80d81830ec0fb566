import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from '../gateway/auth';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../gateway/config';
import { ensureDevSecret } from '../lib/dev-secrets';
import { signDevToken } from '../lib/dev-token';
import { dataDirFromEnv } from '../lib/paths';

/**
 * `npm run --silent dev-token -- --role service --items 330100-JY-0001[,...] [--scopes a,b]
 * [--app NAME] [--officer STAFF-ID] [--ttl SECONDS]`: prints a development token signed with
 * the secret in the data folder, for scripts and curl. Development only: a production
 * gateway does not accept HS256 tokens.
 */
const USAGE = 'usage: npm run --silent dev-token -- --role service|auditor [--items ITEM[,ITEM]] [--scopes SCOPE[,SCOPE]] [--app NAME] [--officer STAFF-ID] [--ttl SECONDS]';

function parseArguments(argv: string[]): Map<string, string> {
  const options = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!['--role', '--items', '--scopes', '--app', '--officer', '--ttl'].includes(flag) || value === undefined || value.startsWith('--')) {
      throw new Error(`unexpected ${flag === undefined ? 'end of arguments' : `argument ${flag}`}`);
    }
    options.set(flag.slice(2), value);
  }
  return options;
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  const role = options.get('role');
  if (!role) throw new Error('--role is required');
  const ttl = Number(options.get('ttl') ?? 8 * 3600);
  // A longer-lived token would be refused by a gateway with the default PROOFLESS_JWT_MAX_LIFETIME_SECONDS.
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > DEFAULT_MAX_TOKEN_LIFETIME_SECONDS) {
    throw new Error(`--ttl must be whole seconds from 1 to ${DEFAULT_MAX_TOKEN_LIFETIME_SECONDS}, got ${options.get('ttl')}`);
  }
  const list = (name: string) => (options.get(name) ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  const token = await signDevToken(ensureDevSecret(dataDirFromEnv(process.env), 'dev-jwt-secret'), DEFAULT_ISSUER, DEFAULT_AUDIENCE, {
    role,
    serviceItems: list('items'),
    scopes: list('scopes'),
    application: options.get('app') ?? 'dev-console',
    officer: options.get('officer') ?? 'dev-officer',
    ttlSeconds: ttl,
  });
  process.stdout.write(`${token}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`dev-token: ${error.message}\n${USAGE}\n`);
  process.exit(2);
});
