import http from 'node:http';

/**
 * A loopback port where nothing listens: a connection to it is refused (ECONNREFUSED).
 * Chosen below the kernel's ephemeral range (ip_local_port_range, 32768 and up here),
 * where servers listening on port 0 are placed: a port that range handed out and took
 * back could be handed at once to the next test server, a department of the very stack
 * that was meant to find nothing there.
 */
export async function closedPort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    const server = http.createServer();
    const isFree = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!isFree) continue;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }
}
