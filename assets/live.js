// The live page: sign in, create or open a workroom, and watch it run.
// Everything comes from the API: the workroom's tasks and deliverables once,
// then its events over graphql-transport-ws (replayed from the start, then
// live), from which the state, the tasks and the Composer's text follow.
// Tool calls show under their tasks (arguments and result collapsed), with
// Approve and Reject where the signed-in member may grant or reject.
// At the end the text streamed is compared with Workroom.deliverables.
(function () {
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem('atelya.token');

  async function gql(query, variables) {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    const response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const body = await response.json();
    if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
    return body.data;
  }

  function show(section) {
    for (const id of ['signin', 'open', 'room']) $(id).hidden = id !== section;
  }

  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    try {
      const data = await gql('mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
        { e: form.get('email'), p: form.get('password') });
      token = data.login.accessToken;
      sessionStorage.setItem('atelya.token', token);
      start();
    } catch (err) {
      $('signin-error').textContent = err.message;
    }
  });

  $('create-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    try {
      const input = {
        title: form.get('title'),
        goal: form.get('goal'),
        deliverables: form.get('deliverables').split(',').map((d) => d.trim()).filter(Boolean),
        sources: [{ kind: 'BRIEF', title: 'Brief', content: form.get('brief') || '' }],
      };
      const data = await gql('mutation($i: CreateWorkroomInput!) { createWorkroom(input: $i) { id } }', { i: input });
      watch(data.createWorkroom.id);
    } catch (err) {
      $('open-error').textContent = err.message;
    }
  });

  $('watch-form').addEventListener('submit', (e) => {
    e.preventDefault();
    watch(new FormData(e.target).get('id').trim());
  });

  const ROOM = `query($id: ID!) { workroom(id: $id) { id title state watchers { name }
    tasks { id title kind state allowedActions rejectionReason
      toolCalls { id tool arguments state result isError } }
    deliverables { id label content } } }`;
  const GRANT = 'mutation($t: ID!) { grantApproval(taskId: $t) { id } }';
  const REJECT = 'mutation($t: ID!, $r: String!) { rejectApproval(taskId: $t, reason: $r) { id } }';

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    node.append(...children);
    return node;
  }

  // A tool call: its tool and state, its arguments and result collapsed.
  function toolCall(call) {
    const details = el('details', { className: 'tool-call' },
      el('summary', {}, el('code', { textContent: call.tool }),
        el('span', { className: 'task-state', textContent: call.state + (call.isError ? ' · error' : '') })),
      el('pre', { textContent: 'arguments: ' + JSON.stringify(call.arguments, null, 2) }));
    if (call.result != null) details.append(el('pre', { className: 'result', textContent: call.result }));
    details.dataset.testid = 'tool-call';
    // A call waiting for a person shows what it would do.
    details.open = ['AWAITING_APPROVAL', 'OUTCOME_UNKNOWN'].includes(call.state);
    return details;
  }
  const EVENTS = `subscription($id: ID!) { workroomEvents(workroomId: $id) {
    seq kind state taskId deliverableId text } }`;

  async function watch(id) {
    history.replaceState(null, '', '/live?workroom=' + encodeURIComponent(id));
    let room;
    try {
      room = (await gql(ROOM, { id })).workroom;
      if (!room) throw new Error('no such workroom');
    } catch (err) {
      $('open-error').textContent = err.message;
      return;
    }
    show('room');
    $('room-title').textContent = room.title;
    $('room-id').textContent = room.id;
    const tasks = new Map(room.tasks.map((t) => [t.id, t]));
    const texts = new Map(room.deliverables.map((d) => [d.id, '']));
    const labels = new Map(room.deliverables.map((d) => [d.id, d.label]));
    let state = '';

    function render() {
      $('room-state').textContent = state;
      $('tasks').replaceChildren(...[...tasks.values()].map((t) => {
        const li = el('li', {}, t.title, el('span', { className: 'task-state', textContent: t.state }));
        li.dataset.task = t.id;
        if (t.rejectionReason) li.append(el('p', { className: 'rejected', textContent: 'Rejected: ' + t.rejectionReason }));
        for (const call of t.toolCalls || []) li.append(toolCall(call));
        const actions = t.allowedActions || [];
        if (actions.includes('GRANT_APPROVAL')) {
          li.append(el('button', { className: 'grant', textContent: 'Approve', onclick: () => act(GRANT, { t: t.id }) }));
        }
        if (actions.includes('REJECT_APPROVAL')) {
          const reason = el('input', { name: 'reason', placeholder: 'Why not?', required: true });
          li.append(el('form', { className: 'reject', onsubmit: (e) => { e.preventDefault(); act(REJECT, { t: t.id, r: reason.value }); } },
            reason, el('button', { type: 'submit', textContent: 'Reject' })));
        }
        return li;
      }));
      $('deliverables').replaceChildren(...[...texts.entries()].map(([id, text]) => {
        const div = document.createElement('div');
        div.className = 'deliverable';
        div.dataset.deliverable = id;
        const h = document.createElement('h4');
        h.textContent = labels.get(id) || id;
        const pre = document.createElement('pre');
        pre.dataset.testid = 'text';
        pre.textContent = text;
        div.append(h, pre);
        return div;
      }));
    }

    async function act(mutation, variables) {
      try {
        await gql(mutation, variables);
        $('check').textContent = '';
      } catch (err) {
        $('check').textContent = err.message;
      }
      refreshTasks();
    }

    async function refreshTasks() {
      const fresh = (await gql(ROOM, { id })).workroom;
      // The plan as it is now: tasks a replan discarded leave the list.
      tasks.clear();
      for (const t of fresh.tasks) tasks.set(t.id, t);
      render();
    }

    async function check() {
      const fresh = (await gql(ROOM, { id })).workroom;
      const same = fresh.deliverables.every((d) => (d.content || '') === (texts.get(d.id) || ''));
      $('check').textContent = same
        ? 'The text streamed here equals Workroom.deliverables.'
        : 'The text streamed here differs from Workroom.deliverables.';
      $('check').className = same ? 'ok' : 'bad';
    }

    const url = location.origin.replace(/^http/, 'ws') + '/graphql';
    const client = graphqlWs.createClient({ url, connectionParams: { authorization: 'Bearer ' + token } });
    client.subscribe({ query: EVENTS, variables: { id } }, {
      next: ({ data, errors }) => {
        if (errors) { $('check').textContent = errors[0].message; return; }
        const event = data.workroomEvents;
        if (event.kind === 'STATE_CHANGED') state = event.state;
        if (event.kind === 'COMPOSER_RESET') texts.set(event.deliverableId, '');
        if (event.kind === 'COMPOSER_DELTA') texts.set(event.deliverableId, (texts.get(event.deliverableId) || '') + event.text);
        if (event.taskId && event.kind !== 'COMPOSER_DELTA') refreshTasks();
        render();
        if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(state)) check();
      },
      error: (err) => { $('check').textContent = 'The live connection ended: ' + (err.reason || err.message || err); },
      complete: () => {},
    });
    const showWatchers = (users) => {
      const names = (users || []).map((u) => u.name);
      $('room-watchers').textContent = names.length ? '· watching: ' + names.join(', ') : '';
    };
    // Who watches now (this page among them, once its subscription is open), then each change.
    setTimeout(async () => showWatchers((await gql(ROOM, { id })).workroom.watchers), 500);
    client.subscribe({ query: 'subscription($id: ID!) { workroomWatchers(workroomId: $id) { name } }', variables: { id } }, {
      next: ({ data }) => showWatchers(data && data.workroomWatchers),
      error: () => {},
      complete: () => {},
    });
    render();
  }

  function start() {
    const id = new URLSearchParams(location.search).get('workroom');
    if (id) watch(id); else show('open');
  }

  if (token) start(); else show('signin');
})();
