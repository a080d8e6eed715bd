#!/usr/bin/env node
// Two clients of the graphql-ws reference library (an owner and a viewer,
// as two browser tabs would be) watch one workroom run live on a server.
// Each must receive exactly the workroom's history, gap-free and in order,
// the stream alone must rebuild the deliverable, and presence must list both.
//
// Usage:
//   npm ci --prefix .ci/graphql-ws-watch
//   node .ci/graphql-ws-watch/watch.mjs http://127.0.0.1:8080/graphql
//
// Exit codes: 0 = all checks passed; 1 = a check failed; 2 = usage or fatal error.
import assert from 'node:assert/strict';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const url = process.argv[2];
if (!url) {
  console.error('usage: node watch.mjs <graphql-endpoint-url>');
  process.exit(2);
}
const wsUrl = url.replace(/^http/, 'ws');
const FIELDS = 'seq kind state text deliverableId';

async function gql(query, variables = {}, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const unique = Date.now().toString(36);

async function team() {
  const signup = await gql(
    'mutation($i: SignupInput!) { signup(input: $i) { accessToken } }',
    { i: { email: `owner-${unique}@example.com`, password: 'a long passphrase', name: 'Owner', workspaceName: 'Watchers' } },
  );
  const owner = signup.signup.accessToken;
  await gql('mutation { changePlan(plan: STARTER) { plan } }', {}, owner);
  const invite = await gql(
    'mutation($e: String!) { inviteMember(email: $e, role: VIEWER) { acceptToken } }',
    { e: `viewer-${unique}@example.com` },
    owner,
  );
  const accepted = await gql(
    'mutation($t: String!) { acceptInvitation(token: $t, name: "Viewer", password: "another passphrase") { accessToken } }',
    { t: invite.inviteMember.acceptToken },
  );
  return { owner, viewer: accepted.acceptInvitation.accessToken };
}

async function waitingRoom(token) {
  const created = await gql(
    'mutation($i: CreateWorkroomInput!) { createWorkroom(input: $i) { id } }',
    {
      i: {
        title: 'Watched live',
        goal: 'Win the Q3 retainer with Northwind',
        deliverables: ['Proposal'],
        constraints: { approval: { requiredRole: 'OWNER', requiredApprovals: 1 } },
        sources: [{ kind: 'BRIEF', content: 'Northwind sells outdoor gear.' }],
      },
    },
    token,
  );
  const id = created.createWorkroom.id;
  for (let i = 0; i < 600; i++) {
    const data = await gql('query($w: ID!) { workroom(id: $w) { lastSeq tasks { id kind state } } }', { w: id }, token);
    const task = data.workroom.tasks.find((t) => t.kind === 'APPROVAL' && t.state === 'AWAITING_APPROVAL');
    if (task) return { id, task: task.id, lastSeq: data.workroom.lastSeq };
    await sleep(50);
  }
  throw new Error('the workroom never waited for its approval');
}

/** Watches until COMPLETED; `subscribed` resolves once the replay reached `upTo`. */
function watch(token, workroomId, upTo) {
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` } });
  let reached;
  const subscribed = new Promise((resolve) => (reached = resolve));
  const done = (async () => {
    const events = [];
    const query = `subscription($w: ID!) { workroomEvents(workroomId: $w) { ${FIELDS} } }`;
    for await (const result of client.iterate({ query, variables: { w: workroomId } })) {
      if (result.errors) throw new Error(JSON.stringify(result.errors));
      const event = result.data.workroomEvents;
      events.push(event);
      if (event.seq === upTo) reached();
      if (event.kind === 'STATE_CHANGED' && event.state === 'COMPLETED') break;
    }
    await client.dispose();
    return events;
  })();
  return { subscribed, done };
}

try {
  const { owner, viewer } = await team();
  const room = await waitingRoom(owner);
  const watchers = [watch(owner, room.id, room.lastSeq), watch(viewer, room.id, room.lastSeq)];
  await Promise.all(watchers.map((w) => w.subscribed));
  const present = await gql('query($w: ID!) { workroom(id: $w) { watchers { name } } }', { w: room.id }, owner);
  assert.deepEqual(present.workroom.watchers.map((u) => u.name).sort(), ['Owner', 'Viewer'], 'presence lists both watchers');
  await gql('mutation($t: ID!) { grantApproval(taskId: $t) { id } }', { t: room.task }, owner);
  const streams = await Promise.all(watchers.map((w) => w.done));
  const history = await gql(
    `query($w: ID!) { workroom(id: $w) { events(first: 1000) { ${FIELDS} } deliverables { id content } } }`,
    { w: room.id },
    owner,
  );
  for (const [who, stream] of [['owner', streams[0]], ['viewer', streams[1]]]) {
    assert.deepEqual(stream, history.workroom.events, `the ${who}'s stream is the history`);
    stream.forEach((event, i) => assert.equal(event.seq, i + 1, `${who}: seq ${i + 1}`));
  }
  const deliverable = history.workroom.deliverables[0];
  const mine = streams[1].filter((e) => e.deliverableId === deliverable.id);
  const reset = mine.map((e) => e.kind).lastIndexOf('COMPOSER_RESET');
  const text = mine.slice(reset + 1).filter((e) => e.kind === 'COMPOSER_DELTA').map((e) => e.text).join('');
  assert.equal(text, deliverable.content, 'the stream rebuilds the deliverable');
  const deltas = streams[0].filter((e) => e.kind === 'COMPOSER_DELTA').length;
  console.log(`graphql-ws: two clients watched ${streams[0].length} events (${deltas} deltas) live, identical to the history`);
  process.exit(0);
} catch (error) {
  console.error(`graphql-ws: ${error.stack ?? error}`);
  process.exit(error instanceof assert.AssertionError ? 1 : 2);
}
