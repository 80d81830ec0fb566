import net from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import { loadSupergraph } from '../gateway/supergraph';
import { SUPERGRAPH_FILE } from '../lib/composition';
import { ZHANG_WEI, writeFixtureRegistries } from './fixtures/registries';
import { startStack } from './helpers/stack';

/**
 * Watches every TCP connection this process opens, at the socket, so nothing that uses
 * its own HTTP client (the gateway's make-fetch-happen, OpenTelemetry exporters, cloud
 * metadata probes) slips past.
 */
let destinations: string[];
let connectSpy: jest.SpyInstance;

beforeEach(() => {
  destinations = [];
  const original = net.Socket.prototype.connect;
  connectSpy = jest.spyOn(net.Socket.prototype, 'connect').mockImplementation(function (this: net.Socket, ...args: unknown[]) {
    const first = args[0] as { host?: string; path?: string } | number | string;
    const host = typeof first === 'object' && first !== null ? (first.host ?? first.path ?? 'localhost') : typeof args[1] === 'string' ? args[1] : 'localhost';
    destinations.push(host);
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  });
  delete process.env.APOLLO_TELEMETRY_DISABLED;
});

afterEach(() => connectSpy.mockRestore());

const offLoopback = () => destinations.filter((host) => !['127.0.0.1', 'localhost', '::1'].includes(host));
const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

test('a bare @apollo/gateway reaches for the internet (the control for the test below)', async () => {
  const gateway = new ApolloGateway({ supergraphSdl: loadSupergraph(SUPERGRAPH_FILE).gatewaySdl });
  await gateway.load();
  await gateway.stop();
  await settle();
  expect(offLoopback()).toContain('usage-reporting.api.apollographql.com');
});

test('the Proofless gateway starts, answers and stops without any connection off loopback, whatever the environment says', async () => {
  const fixture = writeFixtureRegistries();
  const stack = await startStack({ dataDir: fixture.dataDir });
  try {
    const { body } = await stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } residence { status } licences { kind } } }`);
    expect(body.data.citizen.identity).toEqual({ name: '张伟' });
    const landing = await fetch(stack.gatewayUrl, { headers: { accept: 'text/html', ...(await stack.serviceHeaders()) } });
    expect(await landing.text()).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
  } finally {
    await stack.stop();
    fixture.remove();
  }
  await settle();
  expect(destinations.length).toBeGreaterThan(0);
  expect(offLoopback()).toEqual([]);
});
