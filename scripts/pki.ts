import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { listDepartments } from '../lib/composition';
import { dataDirFromEnv } from '../lib/paths';
import { ensureDevelopmentPki, issueCertificate, pkiDirOf } from '../lib/pki';
import { loadTlsMaterial, secondsUntilExpiry, type TlsMaterial } from '../lib/tls-files';

/**
 * `npm run pki -- init | issue <name> [--days N] [--dns NAME]... | show`: the development PKI
 * in the data folder's `pki/` (lib/pki.ts). `init` makes the CA and a certificate for the
 * gateway and every department where one is missing or near its end; `issue` issues one
 * again, with more DNS names for a host that is not loopback; `show` lists what is there and
 * how long each certificate has left.
 *
 * Exit 0 when done, 2 on a usage error, 1 when it failed.
 */
class UsageError extends Error {}

const USAGE = 'usage: npm run pki -- init | issue <name> [--days N] [--dns NAME]... | show';
const DAY_SECONDS = 24 * 60 * 60;

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const dir = pkiDirOf(dataDirFromEnv(process.env));
  if (command === 'init') {
    if (rest.length > 0) throw new UsageError(`init takes no arguments, got "${rest.join(' ')}"`);
    const names = ['gateway', ...listDepartments().map(({ name }) => name)];
    const issued = await ensureDevelopmentPki(dir, names);
    console.log(`pki: CA ${path.join(dir, 'ca.pem')}`);
    for (const name of names) console.log(`pki: ${name} ${issued[name].certFile} until ${issued[name].notAfter.toISOString()}`);
  } else if (command === 'issue') {
    const { name, days, dnsNames } = parseIssue(rest);
    const { certFile, keyFile, notAfter } = await issueCertificate(dir, name, { days, extraDnsNames: dnsNames });
    console.log(`pki: ${name} ${certFile} (key ${keyFile}) until ${notAfter.toISOString()}`);
  } else if (command === 'show') {
    if (rest.length > 0) throw new UsageError(`show takes no arguments, got "${rest.join(' ')}"`);
    show(dir);
  } else {
    throw new UsageError(command === undefined ? 'expected a command' : `unknown command "${command}"`);
  }
}

function parseIssue(args: string[]): { name: string; days?: number; dnsNames: string[] } {
  const [name, ...options] = args;
  if (name === undefined || name.startsWith('--')) throw new UsageError('issue needs the name to issue a certificate to');
  let days: number | undefined;
  const dnsNames: string[] = [];
  for (let i = 0; i < options.length; i += 2) {
    const [flag, value] = [options[i], options[i + 1]];
    if ((flag !== '--days' && flag !== '--dns') || value === undefined || value.startsWith('--')) {
      throw new UsageError(`unexpected ${value === undefined && (flag === '--days' || flag === '--dns') ? `end of arguments after ${flag}` : `argument "${flag}"`}`);
    }
    if (flag === '--dns') dnsNames.push(value);
    else if (/^\d+$/.test(value)) days = Number(value);
    else throw new UsageError(`--days must be a whole number of days, got "${value}"`);
  }
  return { name, days, dnsNames };
}

/** One line per certificate: the CA first, then each name with its subject alternative names, end and days left, or why its files do not load together. */
function show(dir: string): void {
  const caFile = path.join(dir, 'ca.pem');
  if (!existsSync(caFile)) throw new Error(`no development CA in ${dir}; run "npm run pki -- init"`);
  const ca = new X509Certificate(readFileSync(caFile));
  const caNotAfter = new Date(ca.validTo);
  console.log(`ca: ${ca.subject}, until ${caNotAfter.toISOString()}, ${daysLeft(Math.floor((caNotAfter.getTime() - Date.now()) / 1000))}`);
  const names = readdirSync(dir)
    .filter((file) => file.endsWith('.pem') && !file.endsWith('-key.pem') && file !== 'ca.pem')
    .map((file) => file.slice(0, -'.pem'.length))
    .sort();
  for (const name of names) {
    let material: TlsMaterial;
    try {
      material = loadTlsMaterial({ caFile, certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}-key.pem`) }, { ca: 'CA', cert: 'certificate', key: 'key' });
    } catch (error) {
      console.log(`${name}: ${(error as Error).message}`);
      continue;
    }
    const alternativeNames = new X509Certificate(material.cert).subjectAltName;
    console.log(`${name}: ${alternativeNames}, until ${material.notAfter.toISOString()}, ${daysLeft(secondsUntilExpiry(material))}`);
  }
}

function daysLeft(seconds: number): string {
  return seconds < 0 ? `EXPIRED ${Math.ceil(-seconds / DAY_SECONDS)} days ago` : `${Math.floor(seconds / DAY_SECONDS)} days left`;
}

main().catch((error: Error) => {
  // RangeError: lib/pki.ts refusing a name, a validity or a DNS name given on the command line.
  if (error instanceof UsageError || error instanceof RangeError) {
    console.error(`pki: ${error.message}; ${USAGE}`);
    process.exit(2);
  }
  console.error(`pki: ${error.message}`);
  process.exit(1);
});
