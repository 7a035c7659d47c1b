import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import { chromium, type Browser } from 'playwright-core';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-swagger-0123456789';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * An admin's path through Swagger UI in a real browser (Debian's chromium, driven by playwright-core): open /docs,
 * authorize with the admin key, create an API key with "Try it out", then use that key with the openai client.
 */
describe('Swagger UI in a real browser', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`No browser at ${CHROMIUM}: apt-get install chromium (CI does)`);
    db = await createTestDatabase();
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
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
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await db?.drop();
  });

  it('should authorize with the admin key, create a key by Try it out, and the key should work', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${gateway.url}/docs`);
      await page.locator('button.authorize').first().click();
      const dialog = page.locator('.modal-ux');
      await dialog.locator('input').first().fill(ADMIN_KEY);
      await dialog.locator('.auth-btn-wrapper button.authorize').click();
      await dialog.locator('button.btn-done').click();

      const operation = page.locator('.opblock-post', {
        has: page.locator('.opblock-summary-path[data-path="/admin/api-keys"]'),
      });
      await operation.locator('.opblock-summary').click();
      await operation.locator('button.try-out__btn').click();
      await operation.locator('textarea.body-param__text').fill(JSON.stringify({ name: 'made in Swagger UI' }));
      await operation.locator('button.execute').click();

      const response = operation
        .locator('.live-responses-table tbody .response-col_description pre.microlight')
        .first();
      await response.waitFor({ timeout: 15_000 });
      const status = (
        await operation.locator('.live-responses-table tbody .response-col_status').first().innerText()
      ).trim();
      expect(status).toBe('201');
      const created = JSON.parse(await response.innerText()) as { key: string; name: string };
      expect(created.name).toBe('made in Swagger UI');

      const client = new OpenAI({ apiKey: created.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: 'mws-gpt-alpha',
        messages: [{ role: 'user', content: 'from the browser' }],
      });
      expect(completion.choices[0].message.content).toContain('Echo: from the browser');
    } catch (error) {
      await page.screenshot({ path: '/tmp/xrouter-swagger-failure.png', fullPage: true }).catch(() => undefined);
      throw error;
    } finally {
      await page.close();
    }
  }, 60_000);
});
