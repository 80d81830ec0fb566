import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Pool } from 'undici';
import { createRequestSigner, createRequestVerifier } from '../lib/http-signatures';
import { ensureDevelopmentPki } from '../lib/pki';
import { ensureDevelopmentSigningKey, loadSigningKey, loadTrustList } from '../lib/trust-list';
import { formatTable } from './report';

/**
 * `npx tsx bench/guard-cost.ts`: what each piece of the departments' guard costs on its
 * own, in one process, in CPU microseconds (process.cpuUsage, so a busy machine stretches
 * the wall clock but not the figures much): one Ed25519 signature and verification, the
 * gateway's whole request signing and a department's whole verification (RFC 9421 with
 * its RFC 9530 Content-Digest) over bodies the size of scenario (A)'s and (C)'s entity
 * fetches, one mutual TLS 1.3 handshake with the development PKI's P-256 certificates, and
 * one keep-alive exchange through undici over HTTPS against the same over HTTP. Both ends
 * run in this process: handshake and exchange figures are client and server together.
 * docs/benchmarks.md holds what it printed and what that means next to `npm run bench`.
 */

const MIN_ITERATIONS = { crypto: 5000, handshake: 300, exchange: 3000 };

interface Cost {
  what: string;
  iterations: number;
  cpuMicros: number;
  wallMicros: number;
}

/** CPU and wall time per call of `step`, after a tenth as many calls to warm up. */
async function measure(what: string, iterations: number, step: () => unknown): Promise<Cost> {
  for (let i = 0; i < Math.ceil(iterations / 10); i += 1) await step();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) await step();
  const wall = Number(process.hrtime.bigint() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { what, iterations, cpuMicros: (used.user + used.system) / iterations, wallMicros: wall / iterations };
}

/** A GraphQL `_entities` body for `count` representations, the shape the gateway sends a department. */
function entitiesBody(count: number): string {
  const representations = Array.from({ length: count }, (_, i) => ({ __typename: 'Citizen', idNumber: `33010219900101${String(i).padStart(4, '0')}` }));
  return JSON.stringify({
    query: 'query($representations:[_Any!]!){_entities(representations:$representations){...on Citizen{household{householdNumber}}}}',
    variables: { representations },
  });
}

async function signatureCosts(pkiDir: string): Promise<Cost[]> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const base = Buffer.from('"@method": POST\n"@target-uri": https://127.0.0.1:4001/graphql\n'.repeat(4));
  const signature = sign(null, base, privateKey);
  const signing = ensureDevelopmentSigningKey(pkiDir);
  const signer = createRequestSigner({ keyId: signing.keyId, privateKey: loadSigningKey(signing.keyFile) });
  const trustList = loadTrustList(signing.trustListFile);
  // A replay cache as large as the product's default, so remembering nonces costs what it does in a department.
  const verifier = createRequestVerifier({ trustList: () => trustList });
  const headers = {
    'content-type': 'application/json',
    'x-proofless-department': 'household',
    'x-service-item': '330100-ZJ-0001',
    'x-case-number': 'BENCH-A-000001',
    // As the gateway asserts the caller: base64url JSON of the verified token's claims.
    'x-proofless-caller': Buffer.from(JSON.stringify({ application: 'bench', officer: 'bench-officer-01', role: 'service', serviceItems: ['330100-ZJ-0001'], scopes: [] })).toString('base64url'),
    'x-request-id': '8c6f3f0e-0d7e-4c1b-9d55-0a7b5c7d1e11',
  };
  const request = (body: string) => ({ method: 'POST', targetUri: 'https://127.0.0.1:4001/graphql', headers, body });
  const signedRaw = (body: string) => {
    const signed = { ...headers, ...signer(request(body)) };
    return Object.entries(signed).flat();
  };
  const costs: Cost[] = [
    await measure('Ed25519 sign (node:crypto)', MIN_ITERATIONS.crypto, () => sign(null, base, privateKey)),
    await measure('Ed25519 verify (node:crypto)', MIN_ITERATIONS.crypto, () => verify(null, base, publicKey, signature)),
  ];
  for (const [label, count] of [['(A)', 1], ['(C)', 100]] as const) {
    const body = entitiesBody(count);
    const size = `${(Buffer.byteLength(body) / 1024).toFixed(1)} KB`;
    costs.push(await measure(`gateway signs a request, ${label} body ${size}`, MIN_ITERATIONS.crypto, () => signer(request(body))));
    // Each verification needs a request with a fresh nonce: signing is done outside the measured step, in batches.
    const signedRequests = Array.from({ length: MIN_ITERATIONS.crypto * 1.2 }, () => signedRaw(body));
    let next = 0;
    const bodyBuffer = Buffer.from(body);
    costs.push(await measure(`department verifies it, ${label} body ${size}`, MIN_ITERATIONS.crypto, () => {
      const verdict = verifier({ method: 'POST', targetUri: 'https://127.0.0.1:4001/graphql', rawHeaders: signedRequests[next++], body: bodyBuffer });
      if (!verdict.ok) throw new Error(`the verifier refused a signed request: ${verdict.reason}`);
    }));
  }
  return costs;
}

function pkiFiles(pkiDir: string) {
  const read = (name: string) => readFileSync(path.join(pkiDir, name), 'utf8');
  return { ca: read('ca.pem'), server: { cert: read('household.pem'), key: read('household-key.pem') }, client: { cert: read('gateway.pem'), key: read('gateway-key.pem') } };
}

async function handshakeCost(pkiDir: string): Promise<Cost> {
  const files = pkiFiles(pkiDir);
  const server = createTlsServer({ ...files.server, ca: files.ca, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const handshake = () => new Promise<void>((resolve, reject) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'household', ...files.client, ca: files.ca, minVersion: 'TLSv1.3' }, () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
  try {
    return await measure('mutual TLS 1.3 handshake, P-256 (both ends)', MIN_ITERATIONS.handshake, handshake);
  } finally {
    server.close();
  }
}

async function exchangeCosts(pkiDir: string): Promise<Cost[]> {
  const files = pkiFiles(pkiDir);
  const answer = JSON.stringify({ data: { _entities: [{ household: { householdNumber: '330102000000001' } }] } });
  const body = entitiesBody(1);
  const handler = (_req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    _req.resume();
    _req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(answer));
  };
  const costs: Cost[] = [];
  const servers: Array<[string, HttpServer, Pool]> = [];
  const plain = createHttpServer(handler);
  const secure = createHttpsServer({ ...files.server, ca: files.ca, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true }, handler);
  for (const [label, server, scheme] of [['HTTP', plain, 'http'], ['HTTPS, mutual TLS 1.3', secure, 'https']] as const) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const pool = new Pool(`${scheme}://127.0.0.1:${port}`, { connections: 1, ...(scheme === 'https' ? { connect: { ...files.client, ca: files.ca, servername: 'household', minVersion: 'TLSv1.3' } } : {}) });
    servers.push([label, server, pool]);
    costs.push(await measure(`keep-alive exchange over ${label} (both ends)`, MIN_ITERATIONS.exchange, async () => {
      const response = await pool.request({ method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body });
      await response.body.text();
    }));
  }
  for (const [, server, pool] of servers) {
    await pool.close();
    server.close();
  }
  return costs;
}

async function main(): Promise<void> {
  const pkiDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-guard-cost-'));
  try {
    await ensureDevelopmentPki(pkiDir, ['gateway', 'household']);
    const costs = [...await signatureCosts(pkiDir), await handshakeCost(pkiDir), ...await exchangeCosts(pkiDir)];
    console.log(formatTable(['what', 'calls', 'CPU µs each', 'wall µs each'], costs.map((cost) => [
      cost.what, String(cost.iterations), cost.cpuMicros.toFixed(1), cost.wallMicros.toFixed(1),
    ]), 1));
    console.log(`Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model}), load average ${os.loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  } finally {
    rmSync(pkiDir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(`guard-cost: ${error.message}`);
  process.exit(1);
});
