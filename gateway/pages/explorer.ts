import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RouteHandler } from '../../lib/graphql-http';
import { contentSecurityPolicy, packageFile, readStaticFile, securityHeaders, staticRoute } from './static-route';

/**
 * The README's first query ("## A first query"), with the ID number as a variable: the
 * gateway does not read a department's registry, so the page cannot offer a real one
 * (`npm run --silent sample-ids -- 5` prints some). A test keeps it equal to the README's.
 */
export const EXAMPLE_QUERY = `# The README's first query: one request, three departments, for a public rental
# housing application (330100-ZJ-0001). Paste a token above, an ID number below, run.
query FirstQuery($idNumber: ID!) {
  citizen(idNumber: $idNumber) {
    identity { name birthDate provenance { department updatedAt } }
    household { householdNumber members { relation citizen { identity { name } } } }
    residence { status address { division { name } detail } }
    licences { kind status }
  }
}
`;

/** The purpose the example query is for, from the README's curl. */
export const EXAMPLE_PURPOSE = { serviceItem: '330100-ZJ-0001', caseNumber: 'ZJ-2026-000001' };

/** Where the page's scripts and styles are served; fixed paths, revalidated by ETag. */
export const EXPLORER_ASSETS: Record<string, string> = {
  '/explorer/graphiql.min.js': packageFile('graphiql', 'graphiql.min.js'),
  '/explorer/graphiql.min.css': packageFile('graphiql', 'graphiql.min.css'),
  '/explorer/react.production.min.js': packageFile('react', 'umd/react.production.min.js'),
  '/explorer/react-dom.production.min.js': packageFile('react-dom', 'umd/react-dom.production.min.js'),
  '/explorer/explorer.js': path.join(__dirname, 'explorer', 'explorer.js'),
  '/explorer/explorer.css': path.join(__dirname, 'explorer', 'explorer.css'),
};

/**
 * GraphiQL 3 for a browser opening `/graphql` (`page`), and the files it loads
 * (`routes`): all from this gateway, so it works on a network without internet.
 *
 * The page is written per request with a fresh style nonce: GraphiQL's dialogs add one
 * `<style>` element (react-remove-scroll), which a policy without 'unsafe-inline'
 * blocks unless it carries the nonce the policy names. The page is never cached, so a
 * nonce is never reused.
 */
export function explorerPages(): { page: RouteHandler; routes: Record<string, RouteHandler> } {
  const template = readFileSync(path.join(__dirname, 'explorer', 'index.html'), 'utf8');
  const routes: Record<string, RouteHandler> = {};
  for (const [route, file] of Object.entries(EXPLORER_ASSETS)) routes[route] = staticRoute(readStaticFile(file));
  const page: RouteHandler = (_req, res) => {
    const styleNonce = randomBytes(16).toString('base64');
    const settings = {
      endpoint: '/graphql',
      query: EXAMPLE_QUERY,
      variables: JSON.stringify({ idNumber: '' }, null, 2),
      defaults: EXAMPLE_PURPOSE,
      styleNonce,
    };
    // `<` escaped so no value can close the <script> block that carries the settings.
    const body = Buffer.from(template.replace('{{SETTINGS}}', () => JSON.stringify(settings).replace(/</g, '\\u003c')));
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
      'cache-control': 'no-store',
      ...securityHeaders(contentSecurityPolicy({ styleNonce })),
    });
    res.end(body);
  };
  return { page, routes };
}
