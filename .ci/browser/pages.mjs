// The pages in a real browser (Debian's chromium, driven by playwright-core):
// two tabs sign in on /live, one creates a workroom, the other opens it, and
// both watch the Composer's text stream in; at the end both show the same
// text, equal to Workroom.deliverables. Then GraphiQL loads, answers a
// query and opens its settings dialog, keeping the token in sessionStorage
// only. No page may break its Content-Security-Policy on the way.
// Screenshots go to $SCREENSHOTS (default: a temporary folder).
//
// Usage: node pages.mjs http://127.0.0.1:8080
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, client, launch, signedIn } from './common.mjs';

const base = process.argv[2];
if (!base) throw new Error('usage: node pages.mjs <base url>');
const shots = process.env.SCREENSHOTS || mkdtempSync(join(tmpdir(), 'atelya-pages-'));
const email = `browser-${Date.now()}@example.com`;
const password = 'a long browser passphrase';

const gql = client(base);

// Every Content-Security-Policy violation of every page, as chromium reports
// it: an event in the page, and an error in its console.
const violations = [];
function watchPolicy(page, name) {
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) violations.push(`${name}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => { throw new Error(`${name}: ${err.message}`); });
  return page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
}

const signup = await gql(
  'mutation($i: SignupInput!) { signup(input: $i) { accessToken } }',
  { i: { email, password, name: 'Browser', workspaceName: 'Browser Co' } },
);
const token = signup.signup.accessToken;

const browser = await launch();
try {
  // Two tabs, each signed in on its own.
  const tabs = [];
  for (let i = 0; i < 2; i++) {
    tabs.push(await signedIn(browser, base, email, password, (page) => watchPolicy(page, `tab ${i}`)));
  }
  const [first, second] = tabs;
  await first.fill('#create-form input[name=deliverables]', 'Proposal, Summary');
  await first.click('#create-form button');
  await first.waitForURL(/workroom=/);
  const id = new URL(first.url()).searchParams.get('workroom');
  await second.fill('#watch-form input[name=id]', id);
  await second.click('#watch-form button');
  await second.waitForSelector('#room:not([hidden])');

  // The text streams in: seen part-written on the second tab before the end.
  const texts = (page) => page.$$eval('[data-testid=text]', (nodes) => nodes.map((n) => n.textContent));
  let partial = false;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const state = await second.textContent('#room-state');
    if (state === 'COMPLETED') break;
    check(!['FAILED', 'CANCELLED'].includes(state), `the run ended ${state}`);
    check(Date.now() < deadline, `no COMPLETED within 120 s (state ${state})`);
    const now = await texts(second);
    if (!partial && now.some((t) => t.length > 0)) {
      partial = true;
      await second.screenshot({ path: join(shots, 'live-streaming.png'), fullPage: true });
    }
    await second.waitForTimeout(100);
  }
  check(partial, 'the text was never seen part-written');
  for (const page of tabs) {
    await page.waitForSelector('#room-state:text("COMPLETED")');
    await page.waitForSelector('#check.ok', { timeout: 10_000 });
  }
  const [a, b] = [await texts(first), await texts(second)];
  check(JSON.stringify(a) === JSON.stringify(b), 'the two tabs show different text');
  const room = await gql('query($id: ID!) { workroom(id: $id) { deliverables { content } } }', { id }, token);
  const stored = room.workroom.deliverables.map((d) => d.content || '');
  check(JSON.stringify(a) === JSON.stringify(stored), 'the text shown differs from Workroom.deliverables');
  check(a.every((t) => t.length > 20), 'a deliverable is empty');
  await first.screenshot({ path: join(shots, 'live-first-tab.png'), fullPage: true });
  await second.screenshot({ path: join(shots, 'live-second-tab.png'), fullPage: true });
  console.log(`live: two tabs watched ${id} to COMPLETED; ${a.length} deliverables, identical to the API`);

  // GraphiQL loads, takes the token, and answers a query.
  const context = await browser.newContext({ viewport: { width: 1300, height: 800 } });
  const page = await context.newPage();
  await watchPolicy(page, 'graphiql');
  await page.goto(`${base}/graphiql`);
  await page.fill('#token', token);
  await page.dispatchEvent('#token', 'change');
  await page.waitForSelector('.graphiql-execute-button', { timeout: 30_000 });
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(() => document.querySelector('.result-window')?.textContent.includes('FREE_TRIAL'), null, { timeout: 30_000 });
  await page.screenshot({ path: join(shots, 'graphiql.png') });
  const kept = await page.evaluate(() => [sessionStorage.getItem('atelya.token'), localStorage.getItem('atelya.token')]);
  check(kept[0] === token && kept[1] === null, 'GraphiQL keeps the token elsewhere than sessionStorage');
  // A dialog: it locks the page's scroll with a style element of its own.
  await page.click('[aria-label="Open settings dialog"]');
  await page.waitForSelector('[role=dialog]', { timeout: 10_000 });
  await page.screenshot({ path: join(shots, 'graphiql-settings.png') });
  await page.keyboard.press('Escape');
  console.log('graphiql: loaded, answered { plans } and opened its settings');
} finally {
  await browser.close();
}
check(violations.length === 0, `Content-Security-Policy violations:\n${violations.join('\n')}`);
console.log('no Content-Security-Policy violation on either page');
console.log(`screenshots in ${shots}`);
