import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback port that was free a moment ago and where nothing listens now: a connection to it is refused (ECONNREFUSED). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
