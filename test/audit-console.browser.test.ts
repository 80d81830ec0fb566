import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { loadConfig } from '../gateway/config';
import { AUDIT_CONSOLE_OPERATIONS } from '../gateway/pages/audit-console/operations';
import { CHEN_QIANG, LI_NA, WANG_XIUYING, ZHANG_ZIHAN, writeFixtureRegistries } from './fixtures/registries';
import { useBrowser } from './helpers/browser';
import { startStack, type Stack } from './helpers/stack';

/**
 * The auditors' console at /audit, in a real browser: sign in with an auditor token,
 * find the records of a citizen a service system read, open one, see each chain verified
 * with its latest checkpoint, list breached commitments; coded errors shown readably.
 */
let fixture: ReturnType<typeof writeFixtureRegistries>;
let stack: Stack;

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  // Checkpoints every second, so a test sees one without waiting a minute.
  stack = await startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_AUDIT_CHECKPOINT_SECONDS: '1' } });
});

afterAll(async () => {
  await stack?.stop();
  fixture?.remove();
});

const browser = useBrowser({ timezoneId: 'Asia/Shanghai' });

const ENROLMENT = '330100-JY-0001';
const consoleUrl = () => new URL('/audit', stack.gatewayUrl).toString();
const auditorToken = () => stack.token({ role: 'auditor', serviceItems: [], scopes: [], officer: 'auditor-01' });
const asAuditor = async () => ({ authorization: `Bearer ${await auditorToken()}` });

/** A service system's read of one citizen for a pupil's school enrolment, in case `caseNumber`. */
async function enrolmentRead(idNumber: string, caseNumber: string, officer = 'officer-042', fields = 'identity { name }') {
  const token = await stack.token({ serviceItems: [ENROLMENT], scopes: [], officer });
  return stack.query(`{ citizen(idNumber: "${idNumber}") { ${fields} } }`, undefined, {
    authorization: `Bearer ${token}`, 'x-service-item': ENROLMENT, 'x-case-number': caseNumber,
  });
}

const RECORD_FIELDS = 'chainId sequence hash previousHash time requestId application officer role serviceItem caseNumber operationName documentHash coordinates citizens departments outcome errorCodes latencyMs';

/** The records of one citizen as the gateway answers an auditor, newest first. */
async function recordsOf(idNumber: string): Promise<Array<Record<string, any>>> {
  const response = await stack.query(`{ auditRecords(idNumber: "${idNumber}", first: 100) { records { ${RECORD_FIELDS} } } }`, undefined, await asAuditor());
  return response.body.data.auditRecords.records;
}

/** Waits (no timing asserted) until the gateway has signed a checkpoint of its chain. */
async function untilCheckpointed(): Promise<void> {
  for (;;) {
    const response = await stack.query('{ auditChains { lastCheckpoint } }', undefined, await asAuditor());
    if (response.body.data.auditChains.every((chain: { lastCheckpoint: number | null }) => chain.lastCheckpoint !== null)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(consoleUrl());
  await page.locator('#token-input').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const cellTexts = (page: Page, rows: string) => page.locator(rows).evaluateAll((trs) => trs.map((tr) => Array.from((tr as any).cells, (cell: any) => cell.textContent)));

test('an auditor signs in, finds the record of a citizen a service read, opens it, sees the chain verified with its checkpoint, and no breached commitment', async () => {
  const read = await enrolmentRead(LI_NA, 'JY-2026-000321');
  expect(read.status).toBe(200);
  await untilCheckpointed();
  browser.session.reset();
  const page = await browser.session.newPage();
  try {
    await signIn(page, await auditorToken());
    await page.locator('#console').waitFor();
    expect(await page.locator('#who').textContent()).toMatch(/^auditor-01 \(role auditor, until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/);

    const [chainId] = await stack.audit.store.listChains();
    expect(await cellTexts(page, '#chain-rows tr')).toEqual([[
      chainId, 'verified', expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/), expect.stringMatching(/^at sequence \d+$/),
      expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    ]]);

    await page.locator('input[name="idNumber"]').fill(LI_NA);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#records-table').waitFor();
    // Looked up by its request ID: the auditor's own search, also about this citizen, is recorded too.
    const record = (await recordsOf(LI_NA)).find((candidate) => candidate.requestId === read.headers.get('x-request-id')) as Record<string, any>;
    expect(await cellTexts(page, '#record-rows tr')).toEqual([
      [record.time, 'test-window', 'officer-042', ENROLMENT, 'JY-2026-000321', 'ok', LI_NA, '', 'Open'],
    ]);
    expect(await page.locator('#records-summary').textContent()).toBe('Records 1 to 1; newest first.');

    await page.locator(`#record-rows tr[data-request-id="${record.requestId}"]`).getByRole('button', { name: 'Open' }).click();
    await page.locator('#record').waitFor();
    expect(await page.locator('#record-title').textContent()).toBe(`Record ${record.chainId} #${record.sequence}`);
    const shown = await page.locator('#record-fields').evaluate((list) => Array.from((list as any).querySelectorAll('dt'), (dt: any) => [dt.textContent, dt.nextElementSibling.textContent]));
    expect(shown).toEqual([
      ['Time (UTC)', record.time],
      ['Request ID', record.requestId],
      ['Application', 'test-window'],
      ['Officer', 'officer-042'],
      ['Role', 'service'],
      ['Service item', ENROLMENT],
      ['Case number', 'JY-2026-000321'],
      ['Operation', '(none)'],
      ['Outcome', 'OK'],
      ['Error codes', '(none)'],
      ['Citizens', LI_NA],
      ['Fields disclosable', 'Citizen.identity\nIdentity.name\nQuery.citizen'],
      ['Departments called', 'household'],
      ['Latency (ms)', String(record.latencyMs)],
      ['Document SHA-256', record.documentHash],
      ['Chain', record.chainId],
      ['Sequence', String(record.sequence)],
      ['Record hash', record.hash],
      ['Previous hash', record.previousHash],
    ]);

    await page.getByRole('button', { name: 'List breached commitments' }).click();
    await page.locator('#breaches-empty').waitFor();
    expect(await page.locator('#breaches-empty').textContent()).toBe('No breached commitments.');
    expect(await page.locator('#breaches-table').isHidden()).toBe(true);

    await browser.session.screenshot(page, 'audit-console-record');
    expect(browser.session.requests.every(({ url }) => new URL(url).origin === new URL(stack.gatewayUrl).origin)).toBe(true);
    expect(browser.session.failures).toEqual([]);
    expect(browser.session.consoleErrors).toEqual([]);
  } finally {
    await page.close();
  }
});

test('Departments: an auditor picks a department and a period in local time and sees its figures per application and service item, as the gateway answers them; no citizen or officer', async () => {
  const testStarted = Date.now();
  expect((await enrolmentRead(WANG_XIUYING, 'JY-2026-000901', 'officer-091')).status).toBe(200);
  // datetime-local fields take wall-clock time; Shanghai is UTC+8 all year.
  const shanghai = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19);
  const from = shanghai(testStarted);
  const to = shanghai(Date.now() + 60_000);
  const page = await browser.session.newPage();
  try {
    await signIn(page, await auditorToken());
    await page.locator('#console').waitFor();
    // Prefilled with the last 24 hours, the departments of schema/departments.json to pick from.
    const prefilled = await page.locator('#traffic-form').evaluate((form: any) => [form.elements.trafficFrom.value, form.elements.trafficTo.value]);
    expect(Date.parse(`${prefilled[1]}Z`) - Date.parse(`${prefilled[0]}Z`)).toBe(24 * 3600_000);
    expect(await page.locator('select[name="department"] option').allTextContents()).toEqual(['household', 'residence', 'license', 'service', 'audit']);

    await page.locator('select[name="department"]').selectOption('household');
    await page.locator('input[name="trafficFrom"]').fill(from);
    await page.locator('input[name="trafficTo"]').fill(to);
    const sent = page.waitForRequest((request) => (request.postData() ?? '').includes('AuditConsoleTraffic'));
    await page.getByRole('button', { name: 'Show traffic' }).click();
    const variables = {
      department: 'household',
      from: new Date(Math.floor(testStarted / 1000) * 1000).toISOString(),
      to: new Date(`${to}+08:00`).toISOString(),
    };
    // The document is the one the gateway registers itself (gateway/pages/audit-console/operations.ts).
    expect(JSON.parse((await sent).postData() as string)).toEqual({ query: AUDIT_CONSOLE_OPERATIONS.AuditConsoleTraffic, variables });
    await page.locator('#traffic-table').waitFor();
    // The period may hold an earlier test's read from the same second: the page shows what the gateway answers (test/audit-department-traffic.test.ts pins the figures).
    const answer = (await stack.query(AUDIT_CONSOLE_OPERATIONS.AuditConsoleTraffic, variables, await asAuditor())).body.data.departmentTraffic;
    expect(answer.figures).toEqual([{ application: 'test-window', serviceItem: ENROLMENT, requests: expect.any(Number), refusals: 0, errors: 0, latencyP50Ms: expect.any(Number), latencyP95Ms: expect.any(Number) }]);
    const [figures] = answer.figures;
    expect(await cellTexts(page, '#traffic-rows tr')).toEqual([['test-window', ENROLMENT, String(figures.requests), '0', '0', String(figures.latencyP50Ms), String(figures.latencyP95Ms)]]);
    expect(await page.locator('#traffic-summary').textContent()).toBe(`household: ${figures.requests} request${figures.requests === 1 ? '' : 's'}, 0 refused, 0 failed, from ${variables.from} to ${variables.to} (UTC).`);
    expect(await page.locator('#departments').textContent()).not.toMatch(new RegExp(`${WANG_XIUYING}|officer-091|JY-2026-000901`));
    await browser.session.screenshot(page, 'audit-console-departments');

    await page.locator('select[name="department"]').selectOption('license');
    await page.getByRole('button', { name: 'Show traffic' }).click();
    await page.locator('#traffic-summary', { hasText: 'No requests logged by license' }).waitFor();
    expect(await page.locator('#traffic-summary').textContent()).toBe(`No requests logged by license from ${variables.from} to ${variables.to} (UTC).`);
    expect(await page.locator('#traffic-table').isHidden()).toBe(true);

    await page.locator('input[name="trafficFrom"]').fill('2026-01-01T00:00:00');
    await page.locator('input[name="trafficTo"]').fill('2026-03-01T00:00:00');
    await page.getByRole('button', { name: 'Show traffic' }).click();
    await page.locator('#error').waitFor();
    expect(await page.locator('#error').textContent()).toBe(
      'BAD_USER_INPUT: the period from 2025-12-31T16:00:00.000Z to 2026-02-28T16:00:00.000Z is longer than 31 days: ask for at most 31 days at a timeA filter is malformed; the message says which and what was expected.',
    );
    expect(await page.locator('#traffic-summary').textContent()).toBe('');
  } finally {
    await page.close();
  }
});

test('pages through a citizen\'s records, 20 to a page, forward and back', async () => {
  for (let i = 0; i <= 20; i += 1) expect((await enrolmentRead(CHEN_QIANG, `PG-2026-${String(i).padStart(6, '0')}`)).status).toBe(200);
  const page = await browser.session.newPage();
  try {
    await signIn(page, await auditorToken());
    // The service item keeps the auditor's own searches (recorded, about this citizen too) out of the pages.
    await page.locator('input[name="idNumber"]').fill(CHEN_QIANG);
    await page.locator('input[name="serviceItem"]').fill(ENROLMENT);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#records-table').waitFor();
    const cases = async () => (await cellTexts(page, '#record-rows tr')).map((cells) => cells[4]);
    const firstPage = Array.from({ length: 20 }, (_, i) => `PG-2026-${String(20 - i).padStart(6, '0')}`);
    expect(await cases()).toEqual(firstPage);
    expect(await page.locator('#records-summary').textContent()).toBe('Records 1 to 20, more on the next page; newest first.');
    expect(await page.locator('#records-previous').isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Next page' }).first().click();
    await page.locator('#records-summary', { hasText: 'Records 21 to 21' }).waitFor();
    expect(await cases()).toEqual(['PG-2026-000000']);
    expect(await page.locator('#records-page').textContent()).toBe('Page 2');
    expect(await page.locator('#records-next').isDisabled()).toBe(true);

    await page.locator('#records-previous').click();
    await page.locator('#records-summary', { hasText: 'Records 1 to 20' }).waitFor();
    expect(await cases()).toEqual(firstPage);
  } finally {
    await page.close();
  }
});

test('every filter at once: application, officer, service item, case, outcome and a time range in the auditor\'s local time', async () => {
  expect((await enrolmentRead(ZHANG_ZIHAN, 'JY-2026-000555', 'officer-077')).status).toBe(200);
  expect((await enrolmentRead(ZHANG_ZIHAN, 'JY-2026-000555', 'officer-077', 'licences { number }')).status).toBe(403);
  const refused = (await recordsOf(ZHANG_ZIHAN)).find((record) => record.outcome === 'REFUSED') as Record<string, any>;
  // datetime-local fields take wall-clock time; Shanghai is UTC+8 all year.
  const shanghai = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19);
  const time = Date.parse(refused.time);
  const page = await browser.session.newPage();
  try {
    await signIn(page, await auditorToken());
    await page.locator('input[name="application"]').fill('test-window');
    await page.locator('input[name="officer"]').fill('officer-077');
    await page.locator('input[name="serviceItem"]').fill(ENROLMENT);
    await page.locator('input[name="caseNumber"]').fill('JY-2026-000555');
    await page.locator('select[name="outcome"]').selectOption('REFUSED');
    await page.locator('input[name="from"]').fill(shanghai(time - 60_000));
    await page.locator('input[name="to"]').fill(shanghai(time + 60_000));
    const sent = page.waitForRequest((request) => (request.postData() ?? '').includes('AuditConsoleRecords'));
    await page.getByRole('button', { name: 'Search' }).click();
    // The document is the one the gateway registers itself (gateway/pages/audit-console/operations.ts).
    expect(JSON.parse((await sent).postData() as string)).toEqual({
      query: AUDIT_CONSOLE_OPERATIONS.AuditConsoleRecords,
      variables: {
        application: 'test-window', officer: 'officer-077', serviceItem: ENROLMENT, caseNumber: 'JY-2026-000555', outcome: 'REFUSED',
        from: new Date(Math.floor(time / 1000) * 1000 - 60_000).toISOString(), to: new Date(Math.floor(time / 1000) * 1000 + 60_000).toISOString(),
        first: 20, after: null,
      },
    });
    await page.locator('#records-table').waitFor();
    expect(await cellTexts(page, '#record-rows tr')).toEqual([[refused.time, 'test-window', 'officer-077', ENROLMENT, 'JY-2026-000555', 'refused', ZHANG_ZIHAN, '', 'Open']]);
  } finally {
    await page.close();
  }
});

test('coded errors are shown readably: a service token is FORBIDDEN, a bad token UNAUTHENTICATED, a malformed ID number BAD_USER_INPUT', async () => {
  const page = await browser.session.newPage();
  try {
    await signIn(page, await stack.token({ serviceItems: [ENROLMENT], scopes: [] }));
    await page.locator('#error').waitFor();
    expect(await page.locator('#error').textContent()).toBe(
      'FORBIDDEN: only role auditor may read audit recordsThis token may not read audit data: the console needs a token with role auditor.',
    );
    expect(await page.locator('#console').isHidden()).toBe(true);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);

    await signIn(page, 'not.a.token');
    await page.locator('#error', { hasText: 'UNAUTHENTICATED' }).waitFor();
    expect(await page.locator('#error strong').textContent()).toBe('UNAUTHENTICATED: ');

    await signIn(page, await auditorToken());
    await page.locator('#console').waitFor();
    expect(await page.locator('#error').isHidden()).toBe(true);
    await page.locator('input[name="idNumber"]').fill('33010619770820');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#error').waitFor();
    const overHttp = await stack.query('query ($id: ID) { auditRecords(idNumber: $id) { endCursor } }', { id: '33010619770820' }, await asAuditor());
    const [{ message, extensions }] = overHttp.body.errors;
    expect(extensions.code).toBe('BAD_USER_INPUT');
    expect(await page.locator('#error').textContent()).toBe(`BAD_USER_INPUT: ${message}A filter is malformed; the message says which and what was expected.`);
    await browser.session.screenshot(page, 'audit-console-error');
  } finally {
    await page.close();
  }
});

test('the token is kept for this tab only: a reload stays signed in, another tab must sign in, signing out forgets it', async () => {
  const page = await browser.session.newPage();
  const other = await browser.session.newPage();
  try {
    const token = await auditorToken();
    await signIn(page, token);
    await page.locator('#console').waitFor();
    expect(await page.evaluate('[sessionStorage.getItem("proofless.audit.token"), localStorage.length]')).toEqual([token, 0]);
    await page.reload();
    await page.locator('#chain-rows tr').first().waitFor();
    expect(await page.locator('#sign-in').isHidden()).toBe(true);

    await other.goto(consoleUrl());
    expect(await other.locator('#sign-in').isVisible()).toBe(true);
    expect(await other.locator('#console').isHidden()).toBe(true);

    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(await page.locator('#sign-in').isVisible()).toBe(true);
  } finally {
    await page.close();
    await other.close();
  }
});

test('with only registered operations accepted (PROOFLESS_TRUSTED_OPERATIONS), the console still works: the gateway registers its operations itself', async () => {
  const manifest = path.join(fixture.dataDir, 'no-front-end-operations.json');
  writeFileSync(manifest, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [] }));
  const trusted = await startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_TRUSTED_OPERATIONS: manifest } });
  browser.session.reset();
  const page = await browser.session.newPage();
  try {
    await page.goto(new URL('/audit', trusted.gatewayUrl).toString());
    await page.locator('#token-input').fill(await trusted.token({ role: 'auditor', serviceItems: [], scopes: [], officer: 'auditor-01' }));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#chain-rows tr').first().waitFor();
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#records-table').waitFor();
    await page.getByRole('button', { name: 'List breached commitments' }).click();
    await page.locator('#breaches-empty').waitFor();
    await page.getByRole('button', { name: 'Show traffic' }).click();
    await page.locator('#traffic-summary', { hasText: /household/ }).waitFor();
    expect(await page.locator('#error').isHidden()).toBe(true);
    expect(browser.session.requests.filter(({ method }) => method === 'POST')).toHaveLength(4);
    expect(browser.session.failures).toEqual([]);
    expect(browser.session.consoleErrors).toEqual([]);
  } finally {
    await page.close();
    await trusted.stop();
  }
});

describe('over plain HTTP', () => {
  test.each([
    ['/audit', 'text/html; charset=utf-8'],
    ['/audit/operations.js', 'text/javascript; charset=utf-8'],
    ['/audit/console.js', 'text/javascript; charset=utf-8'],
    ['/audit/console.css', 'text/css; charset=utf-8'],
  ])('%s: %s with a policy of this origin only (no inline script), revalidated by ETag', async (route, contentType) => {
    const response = await fetch(new URL(route, stack.gatewayUrl));
    expect(response.status).toBe(200);
    expect({
      type: response.headers.get('content-type'),
      policy: response.headers.get('content-security-policy'),
      cache: response.headers.get('cache-control'),
      sniff: response.headers.get('x-content-type-options'),
      referrer: response.headers.get('referrer-policy'),
    }).toEqual({
      type: contentType,
      policy: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      cache: 'no-cache',
      sniff: 'nosniff',
      referrer: 'no-referrer',
    });
    const body = await response.text();
    if (route === '/audit') {
      expect(body).not.toMatch(/https?:\/\//);
      expect(body.match(/<script[^>]*>/g)).toEqual(['<script src="/audit/operations.js">', '<script src="/audit/console.js">']);
    }
    const again = await fetch(new URL(route, stack.gatewayUrl), { headers: { 'if-none-match': response.headers.get('etag') as string } });
    expect(again.status).toBe(304);
  });

  test('another path under /audit is a coded 404', async () => {
    const response = await fetch(new URL('/audit/records', stack.gatewayUrl));
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 404, body: { errors: [{ message: 'the GraphQL endpoint is /graphql', extensions: { code: 'NOT_FOUND' } }] },
    });
  });

  test('PROOFLESS_AUDIT_CONSOLE=false turns it off; it is on by default', async () => {
    const withoutConsole = await startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_AUDIT_CONSOLE: 'false' } });
    try {
      const response = await fetch(new URL('/audit', withoutConsole.gatewayUrl));
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 404, body: { errors: [{ message: 'the GraphQL endpoint is /graphql', extensions: { code: 'NOT_FOUND' } }] },
      });
    } finally {
      await withoutConsole.stop();
    }
    expect(loadConfig({ PROOFLESS_DATA_DIR: fixture.dataDir }).isAuditConsoleEnabled).toBe(true);
    expect(() => loadConfig({ PROOFLESS_DATA_DIR: fixture.dataDir, PROOFLESS_AUDIT_CONSOLE: 'off' })).toThrow('PROOFLESS_AUDIT_CONSOLE must be true or false, got "off"');
  });
});
