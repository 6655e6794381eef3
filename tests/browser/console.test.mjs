// Browser tests of the console: headless Debian Chromium driven by playwright-core (pinned in
// package-lock.json; scripts/deps.sh installs both). Every flow of the MetaPulse help page,
// the XSS test, a keyboard-only pass and a phone-width pass, with a screenshot of each screen.
//
//   CONSOLE_SERVER=<build>/tests/management/pulsehook_management_tests \
//   CONSOLE_SERVER_ARGS="--child console_server" [SCREENSHOT_DIR=dir] node --test console.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const serverPath = process.env.CONSOLE_SERVER;
assert.ok(serverPath, 'set CONSOLE_SERVER to the program that runs console_server.cpp');
// Words put before --db: the console server is a child of the management test program.
const serverArgs = (process.env.CONSOLE_SERVER_ARGS || '').split(' ').filter(Boolean);
const shots = process.env.SCREENSHOT_DIR || mkdtempSync(path.join(tmpdir(), 'pulsehook-shots-'));
mkdirSync(shots, { recursive: true });
const work = mkdtempSync(path.join(tmpdir(), 'pulsehook-browser-'));

let server, lines, base, token, receiver, browser;
const dialogs = [];
const pageErrors = [];

// The server's output lines, consumed in order by nextLine (a line may come before it is awaited).
const seen = [];
let waiter = null;
function nextLine(prefix, ms = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { waiter = null; reject(new Error('timed out waiting for "' + prefix + '"')); }, ms);
    const check = () => {
      while (seen.length) {
        const l = seen.shift();
        if (l.startsWith(prefix)) {
          clearTimeout(timer);
          waiter = null;
          resolve(l.slice(prefix.length).trim());
          return;
        }
      }
    };
    waiter = check;
    check();
  });
}

async function publish(n, command = 'publish') {
  const done = nextLine('published');
  server.stdin.write(command + ' ' + n + '\n');
  await done;
}

async function newPage(viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage();
  await page.setViewportSize(viewport);
  page.setDefaultTimeout(15000);
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(base);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('h1:text("Webhooks")');
  await page.waitForSelector('#new-endpoint');
  return page;
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: path.join(shots, name + '.png'), fullPage });
}

// Creates an endpoint through the form; returns its id (from the URL).
async function createEndpoint(page, name, types) {
  await page.click('#new-endpoint');
  await page.waitForSelector('h1:text("New Webhook Endpoint")');
  await page.fill('#name', name);
  await page.fill('#url', receiver);
  for (const t of types) await page.check('#type-' + t.replace(/[^a-z0-9_]/g, '-'));
  await page.click('#submit');
  await page.waitForSelector('#events');
  return decodeURIComponent(new URL(page.url()).hash.split('/')[2]);
}

async function counts(page) {
  const out = {};
  for (const k of ['all', 'sent', 'failed']) {
    const t = await page.textContent('#count-' + k);
    out[k] = Number(t.replace(/[()]/g, ''));
  }
  return out;
}

before(async () => {
  server = spawn(serverPath, [...serverArgs, '--db', path.join(work, 'console.db')], { stdio: ['pipe', 'pipe', 'inherit'] });
  lines = readline.createInterface({ input: server.stdout });
  lines.on('line', (l) => { seen.push(l); if (waiter) waiter(); });
  base = await nextLine('console');
  token = await nextLine('token');
  receiver = await nextLine('receiver');
  // A fresh profile directory (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'pulsehook-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    server.stdin.end('quit\n');
    await new Promise((r) => { server.on('exit', r); setTimeout(r, 5000); });
  }
  rmSync(work, { recursive: true, force: true });
  assert.deepEqual(pageErrors, [], 'no script errors on any page');
});

test('the help page flows: create, empty state, live events, filters, event detail, reveal, edit, delete', async () => {
  const page = await newPage();
  await shot(page, '01-webhooks-empty');

  // New Webhook Endpoint: the 24 event types as checkboxes grouped by resource, with descriptions.
  await page.click('#new-endpoint');
  await page.waitForSelector('h1:text("New Webhook Endpoint")');
  assert.equal(await page.locator('#endpoint-form input[name=event_types]').count(), 24);
  assert.equal(await page.locator('#event_types .groups fieldset').count(), 8);
  assert.match(await page.textContent('label[for=type-graph-updated]'), /graph\.updated \(this refers to graph settings, not values\)/);
  assert.match(await page.textContent('#type-team-created-desc'), /A team was created\./);
  // Submitting nothing shows every problem at once, each next to its field.
  await page.click('#submit');
  await page.waitForSelector('.error-summary');
  assert.equal(await page.getAttribute('#name', 'aria-invalid'), 'true');
  assert.equal(await page.getAttribute('#url', 'aria-invalid'), 'true');
  assert.ok(await page.isVisible('#event_types-error'));
  await shot(page, '02-new-endpoint-errors');
  await page.click('a:text("Cancel")');

  const id = await createEndpoint(page, 'Data warehouse', ['objective.updated', 'graph.updated']);
  // The empty state, in the help page's words.
  assert.match(await page.textContent('#empty-state'),
    /once you start creating, updating or deleting data in MetaPulse, the events will appear here/i);
  await shot(page, '03-endpoint-empty-state');

  // Events appear live (no reload): 9 events, of which 3 fail at the receiver.
  await page.waitForSelector('#live.on');
  await publish(9);
  await page.waitForFunction(() => document.querySelectorAll('#events li').length === 9);
  await page.waitForFunction(() => document.querySelector('#count-sent').textContent === '(6)' &&
    document.querySelector('#count-failed').textContent === '(3)');
  const c = await counts(page);
  assert.deepEqual(c, { all: 9, sent: 6, failed: 3 });
  await shot(page, '04-endpoint-events-live');

  // Filters: the rows shown match the counts.
  await page.click('#filter-sent');
  await page.waitForFunction(() => document.querySelector('#filter-sent').getAttribute('aria-pressed') === 'true');
  await page.waitForFunction(() => document.querySelectorAll('#events li').length === 6);
  assert.equal(await page.locator('#events .badge.sent').count(), 6);
  await page.click('#filter-failed');
  await page.waitForFunction(() => document.querySelectorAll('#events li').length === 3);
  assert.equal(await page.locator('#events .badge.retrying, #events .badge.failed').count(), 3);
  assert.deepEqual(await counts(page), c);
  await shot(page, '05-filter-failed');

  // An event: who and when, its data, the attempt with its drop-down.
  await page.click('#events li a');
  await page.waitForSelector('#attempts');
  assert.equal(await page.textContent('#actor'), 'Grace Hopper (member)');
  assert.ok((await page.textContent('#when')).length > 0);
  assert.match(await page.textContent('#event-data'), /"progress"/);
  const attempt = page.locator('details.attempt').first();
  assert.equal(await attempt.getAttribute('open'), null);
  await attempt.locator('summary').click();
  assert.notEqual(await attempt.getAttribute('open'), null);
  assert.equal(await attempt.locator('.status-code').textContent(), '500');
  assert.match(await attempt.textContent(), /Response Status Code/);
  assert.match(await attempt.textContent(), /Response Body/);
  assert.equal(await attempt.locator('.response-body').textContent(), '<img src=x onerror=alert(1)>');
  await shot(page, '06-event-attempt-open');

  // Reveal the signing secret.
  await page.click('a:text("Back to the endpoint")');
  await page.waitForSelector('#reveal');
  assert.match(await page.textContent('#secret'), /^•+$/);
  await page.click('#reveal');
  await page.waitForFunction(() => document.querySelector('#secret').textContent.startsWith('whsec_'));
  await shot(page, '07-secret-revealed');

  // Edit Endpoint -> Update Webhook Endpoint.
  await page.click('#edit');
  await page.waitForSelector('h1:text("Edit Endpoint")');
  assert.equal(await page.inputValue('#name'), 'Data warehouse');
  assert.ok(await page.isChecked('#type-graph-updated'));
  await page.fill('#name', 'Warehouse (nightly)');
  // A rate limit (docs/sending.md#throttling) is shown on the endpoint's page.
  await page.fill('#rate_limit', '0.5');
  await page.fill('#rate_burst', '4');
  await shot(page, '08-edit-endpoint');
  await page.click('button:text("Update Webhook Endpoint")');
  await page.waitForSelector('h1:text("Warehouse (nightly)")');
  assert.equal(await page.textContent('#rate-limit'), '0.5 requests per second at most (burst 4)');
  // One below zero is refused next to its field; cleared, there is no limit.
  await page.click('#edit');
  await page.waitForSelector('h1:text("Edit Endpoint")');
  assert.equal(await page.inputValue('#rate_limit'), '0.5');
  await page.fill('#rate_limit', '-1');
  await page.click('button:text("Update Webhook Endpoint")');
  await page.waitForFunction(() => !document.querySelector('#rate_limit-error').hidden);
  assert.match(await page.textContent('#rate_limit-error'), /invalid rate limit: a number of requests per second above 0/);
  await page.fill('#rate_limit', '');
  await page.fill('#rate_burst', '');
  await page.click('button:text("Update Webhook Endpoint")');
  await page.waitForSelector('h1:text("Warehouse (nightly)")');
  assert.equal(await page.$('#rate-limit'), null);
  // 429s to most of its recent requests slow the endpoint down (AIMD, docs/sending.md#throttling):
  // its page says how far, and until when.
  await publish(8, 'busy');
  for (let i = 0; i < 100 && !(await page.$('#slowed-down')); ++i) {
    await new Promise((r) => setTimeout(r, 200));
    await page.reload();
    await page.waitForSelector('h1:text("Warehouse (nightly)")');
  }
  assert.match(await page.textContent('#slowed-down'),
    /^to [0-9.]+ requests per second at .+, back to [0-9.]+ by .+ \(the receiver answered 429 \/ 503\)$/);

  // Delete Endpoint, confirmed in a dialog.
  await page.click('#delete');
  await page.waitForSelector('#confirm[open]');
  await shot(page, '09-delete-confirm', false);  // the modal's backdrop covers the viewport
  await page.click('#confirm-ok');
  await page.waitForSelector('h1:text("Webhooks")');
  await page.waitForFunction((gone) => !document.querySelector('a[href="#/endpoints/' + gone + '"]'), id);
  assert.deepEqual(dialogs, []);
  await page.close();
});

test('what users and receivers typed is shown as text, never run', async () => {
  const page = await newPage();
  const evil = '<img src=x onerror=alert(1)>';
  await createEndpoint(page, evil, ['objective.updated', 'graph.updated']);
  assert.equal(await page.textContent('h1'), evil);
  await publish(3);  // the third request of each three gets a 500 with the same markup as body
  await page.waitForFunction(() => document.querySelectorAll('#events li').length >= 3);
  await page.click('#filter-failed');
  await page.waitForFunction(() => document.querySelectorAll('#events li').length >= 1);
  await page.click('#events li a');
  await page.waitForSelector('#attempts');
  await page.locator('details.attempt summary').first().click();
  assert.equal(await page.locator('.response-body').first().textContent(), evil);
  assert.match(await page.textContent('#event-data'), /<script>alert\(2\)<\/script>/);
  await page.goto(base + '#/');
  await page.waitForSelector('#endpoints');
  assert.equal(await page.locator('#endpoints .title', { hasText: evil }).count(), 1);
  // No injected element, no alert.
  assert.equal(await page.locator('main img, main script').count(), 0);
  await page.waitForTimeout(300);
  assert.deepEqual(dialogs, []);
  await shot(page, '10-xss-as-text');
  await page.close();
});

test('keyboard only: create, reveal and delete without a mouse', async () => {
  const page = await newPage();
  const focused = () => page.evaluate(() => {
    const e = document.activeElement;
    return { id: e.id, tag: e.tagName, text: (e.textContent || '').trim(), type: e.type || '' };
  });
  async function tabTo(pred, max = 60) {
    for (let i = 0; i < max; ++i) {
      await page.keyboard.press('Tab');
      if (pred(await focused())) return;
    }
    throw new Error('focus never reached the expected element; last: ' + JSON.stringify(await focused()));
  }
  await tabTo((f) => f.id === 'new-endpoint');
  await page.keyboard.press('Enter');
  await page.waitForSelector('h1:text("New Webhook Endpoint")');
  assert.equal((await focused()).id, 'page-title');  // focus moves to the new page's heading
  await page.keyboard.press('Tab');
  assert.equal((await focused()).id, 'name');
  await page.keyboard.type('Keyboard only');
  await page.keyboard.press('Tab');
  assert.equal((await focused()).id, 'url');
  await page.keyboard.type(receiver);
  await tabTo((f) => f.id === 'type-team-created');
  await page.keyboard.press('Space');
  assert.ok(await page.isChecked('#type-team-created'));
  await tabTo((f) => f.id === 'submit');
  await page.keyboard.press('Enter');
  await page.waitForSelector('h1:text("Keyboard only")');
  await tabTo((f) => f.id === 'reveal');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#secret').textContent.startsWith('whsec_'));
  await page.keyboard.press('Shift+Tab');
  await tabTo((f) => f.id === 'delete');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#confirm[open]');
  assert.equal((await focused()).id, 'confirm-cancel');  // the safe choice has focus
  await page.keyboard.press('Tab');
  assert.equal((await focused()).id, 'confirm-ok');
  await page.keyboard.press('Enter');
  await page.waitForSelector('h1:text("Webhooks")');
  await page.close();
});

test('usable at phone width: nothing overflows sideways', async () => {
  const page = await newPage({ width: 390, height: 844 });
  const id = await createEndpoint(page, 'Phone', ['objective.updated', 'graph.updated']);
  await publish(3);
  await page.waitForFunction(() => document.querySelectorAll('#events li').length >= 3);
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(await overflow() <= 0, 'endpoint page fits');
  await shot(page, '11-phone-endpoint');
  await page.click('#events li a');
  await page.waitForSelector('#attempts');
  await page.locator('details.attempt summary').first().click();
  assert.ok(await overflow() <= 0, 'event page fits');
  await page.goto(base + '#/new');
  await page.waitForSelector('#endpoint-form');
  assert.ok(await overflow() <= 0, 'form fits');
  await shot(page, '12-phone-new-endpoint');
  assert.ok(id.startsWith('ep_'));
  await page.close();
});

test('recover failed messages since a preset or a chosen time, and resend an event to all endpoints', async () => {
  const page = await newPage();
  await createEndpoint(page, 'Recovery', ['objective.updated', 'graph.updated']);
  await page.waitForSelector('#live.on');
  await publish(3);
  await page.waitForFunction(() => document.querySelectorAll('#events li').length === 3);
  const status = () => page.textContent('#status');

  // A preset: failed deliveries are retrying here (their next attempt is 10 minutes away), not
  // failed for good, so there is nothing to recover yet; the answer says so.
  assert.equal(await page.isVisible('#recover-custom'), false);
  await page.selectOption('#recover-since', '1d');
  await page.click('#recover');
  await page.waitForFunction(() => /nothing to recover/.test(document.querySelector('#status').textContent));
  // A chosen time: the field appears and is required; a time after now is refused by the server.
  await page.selectOption('#recover-since', 'custom');
  await page.waitForSelector('#recover-custom', { state: 'visible' });
  await page.click('#recover');
  await page.waitForFunction(() => /Choose the date and time/.test(document.querySelector('#status').textContent));
  assert.equal(await page.locator('#status .error').count(), 1);
  const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  await page.fill('#recover-custom', local(new Date(Date.now() + 2 * 86400e3)));
  await page.click('#recover');
  await page.waitForFunction(() => /RFC 3339|not after now/.test(document.querySelector('#status').textContent));
  assert.equal(await page.locator('#status .error').count(), 1);
  await page.fill('#recover-custom', local(new Date(Date.now() - 3600e3)));
  await page.click('#recover');
  await page.waitForFunction(() => /nothing to recover/.test(document.querySelector('#status').textContent));
  await shot(page, '13-recover-failed-messages');

  // Resend to all endpoints, from a sent event: it goes out again at once, as a manual attempt.
  await page.click('#filter-sent');
  await page.waitForFunction(() => document.querySelectorAll('#events li').length >= 1);
  await page.click('#events li a');
  await page.waitForSelector('#attempts');
  const before = await page.locator('details.attempt').count();
  await page.click('#resend-all');
  await page.waitForFunction(() => /being sent again to \d+ endpoint/.test(document.querySelector('#status').textContent));
  assert.match(await status(), /being sent again/);
  await page.waitForFunction((n) => document.querySelectorAll('details.attempt').length === n + 1, before);
  assert.equal(await page.locator('details.attempt .badge', { hasText: 'manual resend' }).count(), 1);
  await shot(page, '14-resend-to-all-endpoints');

  // Erase payload, confirmed in the dialog: the data and the response bodies go, the attempts'
  // status codes stay, and the resend buttons are gone (it can never be sent again).
  await page.waitForFunction(() => document.querySelectorAll('details.attempt').length >= 1);
  await page.click('#erase');
  await page.waitForSelector('#confirm[open]');
  assert.equal(await page.textContent('#confirm-title'), 'Erase Payload');
  await page.click('#confirm-ok');
  await page.waitForSelector('#erased');
  assert.match(await page.textContent('#erased'), /^The payload was erased on .+\.$/);
  assert.equal(await page.locator('#event-data').count(), 0);
  assert.equal(await page.locator('#resend').count(), 0);
  assert.equal(await page.locator('#erase').count(), 0);
  const bodies = await page.$$eval('pre.response-body', (els) => els.map((e) => e.textContent));
  assert.ok(bodies.length >= 1);
  for (const b of bodies) assert.equal(b, '(empty)');
  assert.ok(await page.locator('dd.status-code').count() >= 1);
  assert.match(await status(), /payload was erased/);
  await shot(page, '15-payload-erased');
  await page.close();
});

test('per-endpoint settings: custom headers (a credential never shown again), timeout, retry schedule, labels', async () => {
  const page = await newPage();
  await page.click('#new-endpoint');
  await page.waitForSelector('h1:text("New Webhook Endpoint")');
  await page.fill('#name', 'Warehouse (own settings)');
  await page.fill('#url', receiver);
  await page.check('#type-objective-updated');
  await page.click('#settings summary');
  // A header the library signs with is refused, named in the summary and at the field.
  await page.fill('#headers', 'X-Tenant: acme\nMetaPulse-Signature: forged');
  await page.click('#submit');
  await page.waitForSelector('.error-summary');
  assert.match(await page.textContent('.error-summary'), /Custom headers: invalid custom header: headers beginning MetaPulse-/);
  assert.equal(await page.getAttribute('#headers', 'aria-invalid'), 'true');
  await page.fill('#headers', 'X-Tenant: acme\nAuthorization: Bearer browser-s3cret');
  await page.fill('#timeout_seconds', '5');
  await page.fill('#retry_schedule', '10, 60, 600');
  await page.fill('#metadata', 'team=growth\ntier=gold');
  await page.click('#submit');
  await page.waitForSelector('#events');
  assert.equal(await page.textContent('#request-timeout'), '5 s');
  assert.match(await page.textContent('#custom-headers'), /X-Tenant: acme/);
  assert.match(await page.textContent('#custom-headers'), /Authorization: \(hidden\)/);
  assert.equal(await page.textContent('#retry-schedule'), '10 s, 1 min, 10 min after each failure, then give up');
  assert.match(await page.textContent('#labels'), /team=growth/);
  assert.equal((await page.content()).includes('browser-s3cret'), false);
  // The request carried the headers; the attempt log keeps the credential redacted.
  await page.waitForSelector('#live.on');
  await publish(1);
  await page.waitForFunction(() => document.querySelectorAll('#events li').length === 1);
  await page.click('#events li a');
  await page.waitForSelector('details.attempt');
  await page.click('details.attempt summary');
  const sent = await page.textContent('details.attempt');
  assert.match(sent, /X-Tenant: acme/);
  assert.match(sent, /Authorization: \[redacted\]/);
  assert.equal(sent.includes('browser-s3cret'), false);
  await shot(page, '17-settings-attempt-headers');
  // Editing shows the credential as <hidden> and keeps it when left so.
  await page.click('text=← Back to the endpoint');
  await page.click('#edit');
  await page.waitForSelector('h1:text("Edit Endpoint")');
  assert.equal(await page.getAttribute('#settings', 'open'), '');
  assert.equal(await page.inputValue('#headers'), 'X-Tenant: acme\nAuthorization: <hidden>');
  assert.equal(await page.inputValue('#retry_schedule'), '10, 60, 600');
  await shot(page, '18-settings-form');
  await page.fill('#timeout_seconds', '');
  await page.click('#submit');
  await page.waitForSelector('#events');
  assert.equal(await page.locator('#request-timeout').count(), 0);
  assert.match(await page.textContent('#custom-headers'), /Authorization: \(hidden\)/);
  await page.close();
});

test('an ordered endpoint: "Deliver in order", and later events wait behind a failing one', async () => {
  const page = await newPage();
  await page.click('#new-endpoint');
  await page.waitForSelector('h1:text("New Webhook Endpoint")');
  await page.fill('#name', 'Member sync (ordered)');
  await page.fill('#url', receiver.replace(/\/hook$/, '/ordered'));
  await page.check('#type-member-updated');
  assert.equal(await page.isChecked('#ordered'), false);
  await page.check('#ordered');
  await page.click('#submit');
  await page.waitForSelector('#events');
  assert.match(await page.textContent('#ordering'), /One event at a time per resource/);
  await page.waitForSelector('#live.on');
  // Three updates of one member: the receiver answers 503, so the first keeps retrying and the
  // two after it wait their turn (no next attempt), instead of overtaking it.
  await publish(3, 'ordered');
  await page.waitForFunction(() => document.querySelectorAll('#events li').length === 3);
  await page.waitForFunction(() => /\(1\)/.test(document.querySelector('#count-failed').textContent));
  await page.click('#events li a');  // newest first: the last of the three
  await page.waitForSelector('#waiting');
  assert.match(await page.textContent('#waiting'), /earlier events of the same resource go first/);
  assert.equal(await page.textContent('#delivery-state'), 'pending');
  await shot(page, '16-ordered-waiting');
  // Editing keeps the setting, and shows it.
  await page.click('text=← Back to the endpoint');
  await page.click('#edit');
  await page.waitForSelector('h1:text("Edit Endpoint")');
  assert.equal(await page.isChecked('#ordered'), true);
  await page.close();
});
