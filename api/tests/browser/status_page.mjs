// Drives the operators' status page in Debian's headless Chromium (playwright-core, no bundled
// browser) and prints what it saw as one JSON line on stdout. Run by api/tests/status_page.rs:
//
//   node status_page.mjs <api base url> <admin key> <client key> <screenshot path>
//
// with MUZE_PLAYWRIGHT_DIR pointing at the install of scripts/tools/playwright.sh.
// It opens /status, tries the client key (the page must say 403), then the admin key, waits
// for two live renders, reads every value the page shows (data-stat / data-raw), records every
// request the page made, and writes a full-page screenshot.
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const [base, adminKey, clientKey, screenshot] = process.argv.slice(2);
if (!base || !adminKey || !clientKey || !screenshot) {
  console.error('usage: node status_page.mjs <base url> <admin key> <client key> <screenshot path>');
  process.exit(2);
}
const toolDir = process.env.MUZE_PLAYWRIGHT_DIR;
let chromium;
try {
  ({ chromium } = createRequire(join(toolDir, 'package.json'))('playwright-core'));
} catch (e) {
  console.error(`playwright-core not found in ${toolDir}: run bash scripts/tools/playwright.sh (${e.message})`);
  process.exit(3);
}

const userDataDir = mkdtempSync(join(tmpdir(), 'muze-status-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const requests = [];
const problems = [];
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  await page.goto(base + '/status', { waitUntil: 'load' });
  await page.waitForSelector('#key-form:not([hidden])', { timeout: 10_000 });

  const messageWith = (text) => page.waitForFunction((t) => !document.getElementById('message').hidden
    && document.getElementById('message').textContent.includes(t), text, { timeout: 10_000 });

  // An unknown key is refused with a message naming 401, and the form comes back.
  await page.fill('#key', 'not-a-key-' + Date.now());
  await page.click('#key-form button[type=submit]');
  await messageWith('401');
  const unauthorizedMessage = await page.textContent('#message');

  // A client key is refused with a message naming 403, and the form comes back.
  await page.waitForSelector('#key-form:not([hidden])', { timeout: 10_000 });
  await page.fill('#key', clientKey);
  await page.click('#key-form button[type=submit]');
  await page.waitForFunction(() => !document.getElementById('message').hidden
    && document.getElementById('message').textContent.includes('403'), null, { timeout: 10_000 });
  const forbiddenMessage = await page.textContent('#message');

  await page.fill('#key', adminKey);
  await page.click('#key-form button[type=submit]');
  // Two renders: the first answer and one poll after it.
  await page.waitForFunction(() => Number(document.body.dataset.renders || 0) >= 2, null, { timeout: 15_000 });
  const seen = await page.evaluate(() => {
    const stats = {};
    for (const node of document.querySelectorAll('[data-stat]')) {
      stats[node.dataset.stat] = JSON.parse(node.dataset.raw);
    }
    return {
      stats,
      generated_at: document.body.dataset.generatedAt,
      providers_shown: [...document.querySelectorAll('[data-provider]')].map((n) => n.dataset.provider),
      health_text: document.getElementById('health').textContent.trim(),
      key_kept: sessionStorage.getItem('muze.status.adminKey') !== null,
      form_hidden: document.getElementById('key-form').hidden,
      message_hidden: document.getElementById('message').hidden,
    };
  });
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });

  // The API out of reach: the page says so and keeps the last numbers on screen.
  const before = requests.length;
  await context.setOffline(true);
  await messageWith('Cannot reach the API');
  const offlineMessage = await page.textContent('#message');
  const boardKept = await page.evaluate(() => !document.getElementById('board').hidden);
  await context.setOffline(false);
  process.stdout.write(JSON.stringify({
    ...seen, unauthorized_message: unauthorizedMessage, forbidden_message: forbiddenMessage,
    offline_message: offlineMessage, board_kept_offline: boardKept, requests, problems,
    requests_before_offline: before,
  }) + '\n');
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
