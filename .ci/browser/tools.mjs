// Tool calls on the live page in a real browser: a workspace connects the
// sample MCP server (an agency's CRM), and two tabs watch workrooms whose
// plans call its destructive `send_report`. In the first, one tab approves
// the waiting call and both see it run and the run complete; in the second,
// the other tab rejects it with a reason, and both see the reason and the
// replanned run complete without the call. Screenshots go to $SCREENSHOTS.
//
// Usage: node tools.mjs <base url> <MCP server url>
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, client, launch, signedIn } from './common.mjs';

const [base, mcp] = process.argv.slice(2);
if (!base || !mcp) throw new Error('usage: node tools.mjs <base url> <MCP server url>');
const shots = process.env.SCREENSHOTS || mkdtempSync(join(tmpdir(), 'atelya-tools-'));
const email = `tools-${Date.now()}@example.com`;
const password = 'a long browser passphrase';

const gql = client(base);

const token = (await gql(
  'mutation($i: SignupInput!) { signup(input: $i) { accessToken } }',
  { i: { email, password, name: 'Tools', workspaceName: 'Tools Co' } },
)).signup.accessToken;
const connected = await gql(
  'mutation($i: McpServerInput!) { connectMcpServer(input: $i) { status tools { name requiresApproval } } }',
  { i: { name: 'crm', url: mcp } },
  token,
);
check(connected.connectMcpServer.status === 'CONNECTED', `the sample server: ${JSON.stringify(connected)}`);

async function createRoom(title) {
  const data = await gql(
    'mutation($i: CreateWorkroomInput!) { createWorkroom(input: $i) { id } }',
    { i: {
      title,
      goal: 'Tell Northwind how the week went',
      deliverables: ['Client report'],
      sources: [{ kind: 'BRIEF', title: 'Brief', content: 'Northwind sells outdoor gear. They want a short weekly report.' }],
    } },
    token,
  );
  return data.createWorkroom.id;
}

const ROOM = `query($id: ID!) { workroom(id: $id) { state deliverables { content }
  tasks { kind state rejectionReason toolCalls { tool state result } } } }`;

const browser = await launch();
try {
  const tabs = [];
  for (let i = 0; i < 2; i++) {
    const failOnError = (page) => page.on('pageerror', (err) => { throw new Error(`tab ${i}: ${err.message}`); });
    tabs.push(await signedIn(browser, base, email, password, failOnError));
  }
  const [first, second] = tabs;

  async function watchBoth(id) {
    for (const page of tabs) {
      await page.goto(`${base}/live`);
      await page.waitForSelector('#open:not([hidden])');
      await page.fill('#watch-form input[name=id]', id);
      await page.click('#watch-form button');
      await page.waitForSelector('#room:not([hidden])');
    }
  }
  const sendReport = 'details[data-testid=tool-call]:has(code:text("crm.send_report"))';

  // Approve: the waiting call shows its arguments; one tab approves it.
  const approved = await createRoom('Weekly report, approved');
  await watchBoth(approved);
  for (const page of tabs) {
    await page.waitForSelector(`${sendReport}[open]`, { timeout: 60_000 });
    await page.waitForSelector('button.grant');
  }
  const shown = await first.textContent(sendReport);
  check(shown.includes('AWAITING_APPROVAL') && shown.includes('Northwind'), `the waiting call shows its arguments: ${shown}`);
  await first.screenshot({ path: join(shots, 'tools-awaiting-approval.png'), fullPage: true });
  await first.click('button.grant');
  for (const page of tabs) {
    await page.waitForSelector('#room-state:text("COMPLETED")', { timeout: 60_000 });
    await page.waitForSelector(`${sendReport}:has(.task-state:text("COMPLETED"))`);
  }
  let room = (await gql(ROOM, { id: approved }, token)).workroom;
  const sent = room.tasks.flatMap((t) => t.toolCalls).filter((c) => c.tool === 'crm.send_report');
  check(sent.length === 1 && sent[0].state === 'COMPLETED', `one call, completed: ${JSON.stringify(sent)}`);
  check(sent[0].result.includes('Northwind'), `the call's result: ${sent[0].result}`);
  check(room.deliverables[0].content.includes(sent[0].result), 'the call\'s result reaches the deliverable');
  await second.click(`${sendReport} summary`);
  await second.screenshot({ path: join(shots, 'tools-approved.png'), fullPage: true });
  console.log(`tools: ${approved} approved in one tab, ran once, completed in both`);

  // Reject: the other tab says why; the run replans without the call.
  const rejected = await createRoom('Weekly report, rejected');
  await watchBoth(rejected);
  for (const page of tabs) await page.waitForSelector('form.reject', { timeout: 60_000 });
  await second.fill('form.reject input[name=reason]', 'Not before the client call on Friday');
  await second.click('form.reject button');
  for (const page of tabs) {
    await page.waitForSelector('.rejected:text("Not before the client call on Friday")', { timeout: 30_000 });
    await page.waitForSelector('#room-state:text("COMPLETED")', { timeout: 60_000 });
  }
  room = (await gql(ROOM, { id: rejected }, token)).workroom;
  for (const page of tabs) {
    // The page lists the plan as the API does: the discarded tasks are gone.
    const listed = await page.$$eval('#tasks > li', (items) => items.length);
    check(listed === room.tasks.length, `the page lists ${listed} tasks, the API ${room.tasks.length}`);
  }
  const refused = room.tasks.filter((t) => t.state === 'REJECTED');
  check(refused.length === 1 && refused[0].rejectionReason === 'Not before the client call on Friday', `one rejected task, with its reason: ${JSON.stringify(room.tasks)}`);
  check(refused[0].toolCalls.every((c) => c.state !== 'COMPLETED'), 'a rejected call never ran');
  check(room.deliverables.every((d) => (d.content || '').length > 20), 'the replanned run wrote its deliverable');
  await first.screenshot({ path: join(shots, 'tools-rejected.png'), fullPage: true });
  console.log(`tools: ${rejected} rejected in the other tab with its reason, replanned and completed`);
} finally {
  await browser.close();
}
console.log(`screenshots in ${shots}`);
