import { ConfigError } from './env';

/**
 * The ports Node's fetch will not connect to: the fetch standard's "bad ports"
 * (https://fetch.spec.whatwg.org/#port-blocking), 6000 (X11) and 10080 among them. A
 * request to one fails before any socket is opened, as `TypeError: fetch failed` with the
 * cause `bad port`, so a client that does not say why (the service bureau once did not)
 * looks as if the server were down.
 *
 * Node's global fetch is undici, which keeps the list in `lib/web/fetch/constants.js` and
 * exports it from no public entry point; it is read from there rather than copied, so it
 * follows the undici this project pins (package.json). test/service-gateway-calls.test.ts
 * asks Node's own fetch about every listed port and the ports beside them, and fails
 * when Node's bundled undici and this list part ways.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const FETCH_REFUSED_PORTS: ReadonlySet<string> = (require('undici/lib/web/fetch/constants') as { badPortsSet: ReadonlySet<string> }).badPortsSet;

/**
 * The gateway's `port`, unless the service bureau (whose client is Node's fetch) could not
 * reach the gateway there: then a ConfigError naming the variable and the port. `port` may
 * be a URL's port as `URL#port` gives it ('' for the scheme's default, never refused).
 */
export function requireReachableGatewayPort<Port extends number | string>(variable: string, port: Port): Port {
  if (FETCH_REFUSED_PORTS.has(String(port))) {
    throw new ConfigError(`${variable} must name a port Node's fetch connects to, got ${port}, a "bad port" the fetch standard blocks: the service bureau could not reach the gateway there`);
  }
  return port;
}
