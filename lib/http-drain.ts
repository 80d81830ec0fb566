import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import tls from 'node:tls';

export interface HttpDrainOptions {
  /**
   * How long a connection must have been idle, with nothing arriving, before draining
   * closes it; default 500 ms. A keep-alive client under load sends its next request
   * moments after an answer: a connection idle for less than this may have one on its way,
   * which is then answered (with `connection: close`) instead of reset.
   */
  idleGraceMs?: number;
  /** Connections still open this long after draining began are destroyed, answered or not; default 10000 ms (Apollo's drainHttpServer's). */
  stopGracePeriodMs?: number;
}

export interface HttpDrain {
  /** Stops accepting connections and closes the open ones as they fall quiet; resolves once none is left. */
  drain(): Promise<void>;
}

interface Connection {
  /** Answers in progress on it. */
  answering: Set<ServerResponse>;
  /** `performance.now()` when it last fell idle (or opened). */
  idleSince: number;
  /** `socket.bytesRead` then: more since means a request has begun to arrive. */
  bytesReadWhenIdle: number;
  closing?: NodeJS.Timeout;
}

/**
 * Shutting an HTTP/1.1 server down under keep-alive clients without resetting a request,
 * in place of Apollo Server's drainHttpServer plugin. That plugin (its Stopper) ends every
 * idle connection the moment it stops and every busy one right after its answer, without
 * telling the client: a keep-alive client that has sent, or is about to send, its next
 * request on such a connection sees it reset (issue 16 item 18). Node 19+'s own
 * `http.Server#close` does the same to idle connections (it calls closeIdleConnections;
 * nodejs/node#53939 confirms it is meant to), so the listening socket is closed with
 * `net.Server#close`, which leaves connections alone.
 *
 * From `drain()` on: no new connection is accepted; every answer not yet begun says
 * `connection: close`, so the client sends nothing more on that connection and Node closes
 * it after the answer; a connection idle for `idleGraceMs` with nothing arriving is
 * closed; after `stopGracePeriodMs` whatever is left is destroyed. Created before the
 * server's own request listener, so the header is set before any answer is written.
 */
export function httpDrain(server: Server, options: HttpDrainOptions = {}): HttpDrain {
  const idleGraceMs = options.idleGraceMs ?? 500;
  const stopGracePeriodMs = options.stopGracePeriodMs ?? 10_000;
  const connections = new Map<Socket, Connection>();
  // Every TCP socket, a TLS handshake still under way included: destroyed when the grace period ends, so none holds close() open.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let isDraining = false;
  let drained: Promise<void> | undefined;

  function closeOnceQuiet(socket: Socket, connection: Connection): void {
    clearTimeout(connection.closing);
    connection.closing = setTimeout(() => {
      // One more turn of the event loop's poll phase first: bytes the system has already received are read, and a request they start is answered.
      setImmediate(() => {
        if (connection.answering.size === 0 && socket.bytesRead === connection.bytesReadWhenIdle) socket.destroy();
      });
    }, Math.max(0, connection.idleSince + idleGraceMs - performance.now()));
  }

  // An HTTPS server's requests arrive on the TLS socket its 'secureConnection' gives, not on the TCP socket of 'connection'.
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket: Socket) => {
    const connection: Connection = { answering: new Set(), idleSince: performance.now(), bytesReadWhenIdle: 0 };
    connections.set(socket, connection);
    socket.once('close', () => {
      clearTimeout(connection.closing);
      connections.delete(socket);
    });
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const connection = connections.get(req.socket);
    if (!connection) return;
    clearTimeout(connection.closing);
    connection.answering.add(res);
    if (isDraining) res.setHeader('connection', 'close');
    res.once('close', () => {
      connection.answering.delete(res);
      if (connection.answering.size > 0) return;
      connection.idleSince = performance.now();
      connection.bytesReadWhenIdle = req.socket.bytesRead;
      if (isDraining) closeOnceQuiet(req.socket, connection);
    });
  });

  return {
    drain() {
      drained ??= new Promise<void>((resolve) => {
        isDraining = true;
        const deadline = setTimeout(() => {
          for (const socket of connections.keys()) socket.destroy();
          for (const socket of sockets) socket.destroy();
        }, stopGracePeriodMs);
        net.Server.prototype.close.call(server, () => {
          clearTimeout(deadline);
          resolve();
        });
        for (const [socket, connection] of connections) {
          for (const res of connection.answering) if (!res.headersSent) res.setHeader('connection', 'close');
          if (connection.answering.size === 0) closeOnceQuiet(socket, connection);
        }
      });
      return drained;
    },
  };
}
