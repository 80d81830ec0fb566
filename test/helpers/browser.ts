import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../lib/paths';

/** Debian's Chromium, which scripts/ensure-browser.sh installs where missing (playwright cannot download one here). */
const CHROMIUM = '/usr/bin/chromium';

/** The flags STACK.md lists: headless, and nothing that phones home (updates, sync, background fetches). */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Where screenshots go; git ignores test-output/. */
export const SCREENSHOTS_DIR = path.join(REPO_ROOT, 'test-output', 'screenshots');

export interface BrowserSession {
  context: BrowserContext;
  /** Every request any page made since the last `reset()`: method and URL, in order. */
  requests: Array<{ method: string; url: string }>;
  /** Requests that got no answer, and answers of 400 or more, since the last `reset()`. */
  failures: Array<{ url: string; failure: string }>;
  /** Console errors (a blocked policy violation shows up here) since the last `reset()`. */
  consoleErrors: string[];
  newPage(): Promise<Page>;
  /** Saves a full-page PNG under SCREENSHOTS_DIR and returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  reset(): void;
}

/**
 * One Chromium for a test file, on a fresh profile (its own --user-data-dir, so no
 * earlier run's storage leaks in), recording what every page requests. Pages see the
 * clock of `timezoneId` (default Asia/Shanghai, where the auditors are).
 */
export function useBrowser(options: { timezoneId?: string } = {}): { readonly session: BrowserSession } {
  let session: BrowserSession | undefined;
  let profileDir: string | undefined;
  beforeAll(async () => {
    profileDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-chromium-'));
    const context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      args: FLAGS,
      timezoneId: options.timezoneId ?? 'Asia/Shanghai',
      viewport: { width: 1280, height: 900 },
    });
    const recorded: Pick<BrowserSession, 'requests' | 'failures' | 'consoleErrors'> = { requests: [], failures: [], consoleErrors: [] };
    context.on('request', (request) => recorded.requests.push({ method: request.method(), url: request.url() }));
    context.on('requestfailed', (request) => recorded.failures.push({ url: request.url(), failure: request.failure()?.errorText ?? 'failed' }));
    context.on('response', (response) => {
      if (response.status() >= 400) recorded.failures.push({ url: response.url(), failure: `HTTP ${response.status()}` });
    });
    context.on('console', (message) => {
      if (message.type() === 'error') recorded.consoleErrors.push(message.text());
    });
    session = {
      context,
      get requests() {
        return recorded.requests;
      },
      get failures() {
        return recorded.failures;
      },
      get consoleErrors() {
        return recorded.consoleErrors;
      },
      newPage: () => context.newPage(),
      async screenshot(page, name) {
        mkdirSync(SCREENSHOTS_DIR, { recursive: true });
        const file = path.join(SCREENSHOTS_DIR, `${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        return file;
      },
      reset() {
        recorded.requests = [];
        recorded.failures = [];
        recorded.consoleErrors = [];
      },
    };
  });
  afterAll(async () => {
    await session?.context.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });
  return {
    get session() {
      return session as BrowserSession;
    },
  };
}
