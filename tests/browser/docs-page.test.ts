import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCALAR_VERSION } from '../../src/routes/docs.ts';
import { startDemoGateway, type DemoGateway } from './demo-gateway.ts';

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it). */
const CHROMIUM = '/usr/bin/chromium';

describe('GET /docs in a real browser', () => {
  let demo: DemoGateway | undefined;
  let browser: BrowserContext | undefined;
  let profile: string | undefined;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: this test needs Debian's chromium (apt-get install -y chromium; .ci/run installs it)`);
    }
    profile = mkdtempSync(join(tmpdir(), 'tributary-chromium-'));
    demo = await startDemoGateway();
    // A fresh profile each run (Playwright takes it as the persistent context's directory).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      timeout: 30_000,
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  }, 30_000);

  it('loads without console errors, its script from the gateway, and lists every demo endpoint', async () => {
    const page = await (browser as BrowserContext).newPage();
    const problems: string[] = [];
    const requested: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
    page.on('request', (request) => requested.push(request.url()));
    const base = (demo as DemoGateway).url;
    const response = await page.goto(`${base}/docs`, { waitUntil: 'load', timeout: 30_000 });
    expect(response?.status()).toBe(200);
    // Scalar lists each operation by its summary, which is the endpoint's path.
    for (const path of ['/v1/dashboard/{userId}', '/v1/items', '/v1/users/{userId}/with-manager']) {
      await page.getByText(path, { exact: false }).first().waitFor({ state: 'attached', timeout: 30_000 });
    }
    // Everything the page loaded came from the gateway itself: nothing from a CDN.
    expect(requested.filter((url) => !url.startsWith(base) && !url.startsWith('data:'))).toEqual([]);
    expect(requested).toContain(`${base}/docs/scalar.js`);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);
});

describe('the Scalar version /docs names', () => {
  it('is the installed @scalar/api-reference, so the CDN copy (Workers) is the bundle Node serves', async () => {
    const installed = JSON.parse(readFileSync(new URL('../../node_modules/@scalar/api-reference/package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SCALAR_VERSION).toBe(installed.version);
  });
});
