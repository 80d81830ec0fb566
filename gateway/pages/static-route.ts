import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../../lib/error-codes';
import { sendError, type RouteHandler } from '../../lib/graphql-http';

/*
 * Fixed files the gateway serves to browsers (its pages, their scripts and styles, the
 * GraphiQL and React bundles from node_modules): read once when the route is built, so a
 * missing file stops the gateway at start rather than failing a page later, and
 * answered with headers that keep each page to its own origin.
 */

/** A file's bytes as served. */
export interface StaticBody {
  body: Buffer;
  contentType: string;
}

/**
 * Who may do what on a page: only this origin's scripts, styles and requests, no
 * framing, no `<base>`, no form posts anywhere. Fonts may be `data:` URIs because
 * GraphiQL's stylesheet embeds its fonts that way (no font is fetched). `styleNonce`
 * admits the one `<style>` element a page's own script adds with that nonce.
 */
export function contentSecurityPolicy(options: { styleNonce?: string } = {}): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    options.styleNonce ? `style-src 'self' 'nonce-${options.styleNonce}'` : "style-src 'self'",
    "img-src 'self' data:",
    'font-src data:',
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Headers every page and asset carries: its policy, no type sniffing, no referrer leaving the page. */
export function securityHeaders(csp: string = contentSecurityPolicy()): Record<string, string> {
  return { 'content-security-policy': csp, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** A file's bytes and content type by its extension; throws at start when the file is missing. */
export function readStaticFile(file: string): StaticBody {
  const contentType = CONTENT_TYPES[path.extname(file)];
  if (!contentType) throw new Error(`no content type for ${file}`);
  return { body: readFileSync(file), contentType };
}

/** A script the gateway writes at start (from a module it also reads itself), served like a file. */
export function generatedScript(source: string): StaticBody {
  return { body: Buffer.from(source), contentType: CONTENT_TYPES['.js'] };
}

/** A file inside an installed package, found through the package's own package.json (graphiql exports no other subpath). */
export function packageFile(packageName: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${packageName}/package.json`)), file);
}

/**
 * Answers GET and HEAD with `content`. Paths are fixed (no version in them), so browsers
 * revalidate every time (`no-cache`) and get a 304 while the ETag matches: an upgraded
 * gateway is never paired with a stale script, and an unchanged one costs a few bytes.
 */
export function staticRoute(content: StaticBody): RouteHandler {
  const etag = `"${createHash('sha256').update(content.body).digest('base64url').slice(0, 27)}"`;
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, ErrorCode.BAD_REQUEST, `${req.url?.split('?')[0]} answers GET and HEAD, got ${req.method}`, { allow: 'GET, HEAD' });
      return;
    }
    const headers = {
      'content-type': content.contentType,
      'cache-control': 'no-cache',
      etag,
      ...securityHeaders(),
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': content.body.length });
    res.end(req.method === 'HEAD' ? undefined : content.body);
  };
}
