import { generateKeyPairSync } from 'node:crypto';
import { transportEnv } from './helpers/federation-security';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, print } from 'graphql';
import { loadConfig } from '../gateway/config';
import { EXAMPLE_PURPOSE, EXAMPLE_QUERY, EXPLORER_ASSETS } from '../gateway/pages/explorer';
import { REPO_ROOT } from '../lib/paths';
import { ZHANG_WEI } from './fixtures/registries';
import { useBrowser } from './helpers/browser';
import { startStack, useFixtureStack } from './helpers/stack';

/**
 * The explorer front-end teams open at /graphql in development: GraphiQL served by the
 * gateway itself (no CDN), with fields for the token and the purpose headers.
 */
const city = useFixtureStack();
const browser = useBrowser();

const origin = () => new URL(city.stack.gatewayUrl).origin;
const RENTAL_HOUSING = EXAMPLE_PURPOSE.serviceItem;

/** The value of the GraphiQL editor matched by `selector` (CodeMirror 5 keeps it on the element). */
const editorValue = (selector: string) => `document.querySelector(${JSON.stringify(`${selector} .CodeMirror`)}).CodeMirror.getValue()`;
const VARIABLES_EDITOR = '.graphiql-editor-tool .graphiql-editor:not(.hidden)';
const RESULT_EDITOR = '.result-window';

/**
 * Run in the page by waitForFunction: whether the CodeMirror editor under `selector` holds
 * `text`. A function, not an expression string: Playwright evaluates a string again on
 * every poll, and once the first poll has missed, the page's CSP (no 'unsafe-eval')
 * refuses that eval (microsoft/playwright#7395); a function is evaluated once, when the
 * wait starts, where the CSP does not apply.
 */
function editorHolds({ selector, text }: { selector: string; text: string }): boolean {
  const { document } = globalThis as unknown as { document: { querySelector(selector: string): { CodeMirror: { getValue(): string } } | null } };
  return document.querySelector(`${selector} .CodeMirror`)?.CodeMirror.getValue().includes(text) ?? false;
}

test('a browser opening /graphql gets GraphiQL from the gateway alone: every request to its origin, none failed, no policy violation', async () => {
  browser.session.reset();
  const page = await browser.session.newPage();
  try {
    // GraphiQL asks for the schema once it is up; the page is complete when that answer arrived.
    const schemaAnswered = page.waitForResponse((response) => response.url() === city.stack.gatewayUrl && response.request().method() === 'POST');
    await page.goto(city.stack.gatewayUrl);
    await page.locator('.graphiql-container').waitFor();
    await schemaAnswered;
    expect(browser.session.requests.map(({ method, url }) => `${method} ${url.replace(origin(), '')}`)).toEqual([
      'GET /graphql',
      'GET /explorer/graphiql.min.css',
      'GET /explorer/explorer.css',
      'GET /explorer/react.production.min.js',
      'GET /explorer/react-dom.production.min.js',
      'GET /explorer/graphiql.min.js',
      'GET /explorer/explorer.js',
      'POST /graphql',
    ]);
    expect(browser.session.requests.every(({ url }) => new URL(url).origin === origin())).toBe(true);
    expect(browser.session.failures).toEqual([]);
    expect(browser.session.consoleErrors).toEqual([]);
    expect(await page.locator('#service-item').inputValue()).toBe(RENTAL_HOUSING);
    expect(await page.locator('#case-number').inputValue()).toBe(EXAMPLE_PURPOSE.caseNumber);
    expect(await page.evaluate(editorValue('.graphiql-query-editor'))).toBe(EXAMPLE_QUERY);
    expect(JSON.parse(await page.evaluate(editorValue(VARIABLES_EDITOR)))).toEqual({ idNumber: '' });
  } finally {
    await page.close();
  }
});

test('the README query runs with the token and purpose typed into the fields, sent with the request, answered as over curl', async () => {
  const page = await browser.session.newPage();
  try {
    await page.goto(city.stack.gatewayUrl);
    await page.locator('.graphiql-container').waitFor();
    const token = await city.stack.token({ serviceItems: [RENTAL_HOUSING], scopes: [], officer: 'frontend-dev-7' });
    await page.locator('#token').fill(token);
    await page.locator('#service-item').fill(RENTAL_HOUSING);
    await page.locator('#case-number').fill('ZJ-2026-004242');
    await page.evaluate(`${editorValue(VARIABLES_EDITOR).replace('.getValue()', '')}.setValue(${JSON.stringify(JSON.stringify({ idNumber: ZHANG_WEI }))})`);
    // Settings dialogs add the one inline style the page's nonce admits: opening one must not break the policy.
    await page.locator('[aria-label="Open settings dialog"]').click();
    await page.keyboard.press('Escape');

    const sent = page.waitForRequest((request) => request.method() === 'POST' && (request.postData() ?? '').includes('FirstQuery'));
    await page.locator('.graphiql-execute-button').click();
    const request = await sent;
    expect(request.headers()).toMatchObject({ authorization: `Bearer ${token}`, 'x-service-item': RENTAL_HOUSING, 'x-case-number': 'ZJ-2026-004242' });
    await page.waitForFunction(editorHolds, { selector: RESULT_EDITOR, text: '"data"' });
    const shown = JSON.parse(await page.evaluate(editorValue(RESULT_EDITOR)));
    expect(shown.data.citizen.identity.name).toBe('张伟');
    const overCurl = await city.stack.query(EXAMPLE_QUERY, { idNumber: ZHANG_WEI }, {
      authorization: `Bearer ${token}`, 'x-service-item': RENTAL_HOUSING, 'x-case-number': 'ZJ-2026-004242',
    });
    expect(shown).toEqual(overCurl.body);
    expect(browser.session.consoleErrors).toEqual([]);
    await browser.session.screenshot(page, 'explorer-readme-query');
  } finally {
    await page.close();
  }
});

test('the preloaded query is the README\'s first query, with the ID number as a variable', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A first query'), readme.indexOf('\n## ', readme.indexOf('## A first query') + 1));
  const curlQuery = /"query":"(.+?)"}'/.exec(section)?.[1];
  expect(curlQuery).toEqual(expect.any(String));
  const asVariable = `query FirstQuery($idNumber: ID!) ${(curlQuery as string).replace(`\\"'$ID'\\"`, '$idNumber')}`;
  expect(print(parse(EXAMPLE_QUERY))).toBe(print(parse(asVariable)));
});

describe('over plain HTTP', () => {
  const get = (route: string, headers: Record<string, string> = {}) => fetch(new URL(route, city.stack.gatewayUrl), { headers });

  test('the page: HTML, never cached, a policy of this origin only with a fresh style nonce each time', async () => {
    const first = await get('/graphql', { accept: 'text/html' });
    const second = await get('/graphql', { accept: 'text/html' });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(first.headers.get('cache-control')).toBe('no-store');
    const policy = first.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(policy)?.[1];
    expect(policy).toBe(
      `default-src 'none'; script-src 'self'; style-src 'self' 'nonce-${nonce}'; img-src 'self' data:; font-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
    expect(second.headers.get('content-security-policy')).not.toContain(nonce);
    const html = await first.text();
    expect(html).toContain(`"styleNonce":"${nonce}"`);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>|<script(?![^>]*(src="\/explorer\/|type="application\/json"))/);
  });

  test('a GraphQL GET that accepts HTML (a query in the URL) still reaches GraphQL', async () => {
    const response = await get('/graphql?query=%7B__typename%7D', { accept: 'text/html, application/json', 'apollo-require-preflight': 'true' });
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
  });

  test.each(Object.keys(EXPLORER_ASSETS))('%s: its content type, the policy, revalidated by ETag (304)', async (route) => {
    const response = await get(route);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(route.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self'; style-src 'self';/);
    expect(Buffer.from(await response.arrayBuffer()).equals(readFileSync(EXPLORER_ASSETS[route]))).toBe(true);
    const etag = response.headers.get('etag') as string;
    const again = await get(route, { 'if-none-match': etag });
    expect({ status: again.status, etag: again.headers.get('etag'), body: await again.text() }).toEqual({ status: 304, etag, body: '' });
  });

  test('an unknown asset path is a coded 404; an asset answers GET and HEAD only', async () => {
    const missing = await get('/explorer/graphiql.js');
    expect({ status: missing.status, body: await missing.json() }).toEqual({
      status: 404, body: { errors: [{ message: 'the GraphQL endpoint is /graphql', extensions: { code: 'NOT_FOUND' } }] },
    });
    const posted = await fetch(new URL('/explorer/explorer.js', city.stack.gatewayUrl), { method: 'POST', body: 'x' });
    expect({ status: posted.status, allow: posted.headers.get('allow'), body: await posted.json() }).toEqual({
      status: 405, allow: 'GET, HEAD', body: { errors: [{ message: '/explorer/explorer.js answers GET and HEAD, got POST', extensions: { code: 'BAD_REQUEST' } }] },
    });
    const head = await fetch(new URL('/explorer/explorer.js', city.stack.gatewayUrl), { method: 'HEAD' });
    expect({ status: head.status, length: head.headers.get('content-length') }).toEqual({ status: 200, length: String(readFileSync(EXPLORER_ASSETS['/explorer/explorer.js']).length) });
  });
});

describe('outside development', () => {
  /** Environment a production gateway starts with: public keys only, no development secrets. */
  function productionEnv(): NodeJS.ProcessEnv {
    const publicKeyFile = path.join(city.dataDir, 'explorer-test-jwt.pub.pem');
    writeFileSync(publicKeyFile, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const pseudonymKeyFile = path.join(city.dataDir, 'explorer-test-pseudonym-key');
    writeFileSync(pseudonymKeyFile, Buffer.alloc(32, 7).toString('base64url'));
    return { NODE_ENV: 'production', PROOFLESS_JWT_PUBLIC_KEY_FILE: publicKeyFile, PROOFLESS_PSEUDONYM_KEY_FILE: pseudonymKeyFile, ...transportEnv() };
  }

  test('the explorer is off: a browser\'s GET /graphql is answered as before it existed, its files are not served; the audit console is', async () => {
    const production = await startStack({ dataDir: city.dataDir, env: productionEnv() });
    try {
      const page = await fetch(production.gatewayUrl, { headers: { accept: 'text/html,application/xhtml+xml' } });
      expect({ status: page.status, body: await page.json() }).toEqual({
        status: 400,
        body: {
          errors: [{
            message: "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Please either specify a 'content-type' header (with a type that is not one of application/x-www-form-urlencoded, multipart/form-data, text/plain) or provide a non-empty value for one of the following headers: x-apollo-operation-name, apollo-require-preflight\n",
            extensions: { code: 'BAD_REQUEST' },
          }],
        },
      });
      const asset = await fetch(new URL('/explorer/graphiql.min.js', production.gatewayUrl));
      expect(asset.status).toBe(404);
      // Auditors work in production: their console stays on.
      expect((await fetch(new URL('/audit', production.gatewayUrl))).status).toBe(200);
    } finally {
      await production.stop();
    }
  });

  test('PROOFLESS_EXPLORER turns it on or off whatever NODE_ENV says, and takes only true or false', () => {
    const keys = productionEnv();
    expect(loadConfig(keys).isExplorerEnabled).toBe(false);
    expect(loadConfig({ ...keys, PROOFLESS_EXPLORER: 'true' }).isExplorerEnabled).toBe(true);
    expect(loadConfig({ PROOFLESS_DATA_DIR: city.dataDir }).isExplorerEnabled).toBe(true);
    expect(loadConfig({ PROOFLESS_DATA_DIR: city.dataDir, PROOFLESS_EXPLORER: 'false' }).isExplorerEnabled).toBe(false);
    expect(() => loadConfig({ PROOFLESS_DATA_DIR: city.dataDir, PROOFLESS_EXPLORER: 'yes' })).toThrow('PROOFLESS_EXPLORER must be true or false, got "yes"');
  });
});
