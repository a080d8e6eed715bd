// What the browser checks share: the GraphQL client they set things up
// with, a check that fails the run, and chromium as Debian ships it.
import { chromium } from 'playwright-core';

export function client(base) {
  return async function gql(query, variables, token) {
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const body = await response.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

// A tab signed in on /live.
export async function signedIn(browser, base, email, password, prepare) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  const page = await context.newPage();
  if (prepare) await prepare(page);
  await page.goto(`${base}/live`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('#signin-form button');
  await page.waitForSelector('#open:not([hidden])');
  return page;
}
