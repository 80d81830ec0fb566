import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface OwnRedis {
  url: string;
  /** Stops the server (SIGTERM) and waits until it has exited: clients see Redis go away. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (nothing is saved), and waits until it accepts connections. */
  start(): Promise<void>;
}

/**
 * A Redis server of the test's own, on a free loopback port, with nothing saved to disk,
 * for tests that stop and restart Redis: the machine's Redis on 6379 is shared by other
 * test files and must never be stopped.
 */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server: OwnRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await untilAccepting(port);
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    },
  };
  await server.start();
  return server;
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function untilAccepting(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const isAccepting = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (isAccepting) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server did not start on port ${port}`);
}
