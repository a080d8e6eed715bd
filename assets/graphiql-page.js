// GraphiQL on this server: queries and mutations over HTTP, subscriptions
// over graphql-transport-ws, both with the token pasted in the header bar.
// The token is kept in sessionStorage, as on the live page: it lasts as long
// as the tab, and is not left on disk for every later visitor of this origin.
(function () {
  const input = document.getElementById('token');
  // Earlier versions kept it in localStorage: it goes from there.
  localStorage.removeItem('atelya.token');
  input.value = sessionStorage.getItem('atelya.token') || '';
  const bearer = () => (input.value.trim() ? 'Bearer ' + input.value.trim() : undefined);

  let socket;
  function wsClient() {
    const url = location.origin.replace(/^http/, 'ws') + '/graphql';
    return graphqlWs.createClient({ url, lazy: true, connectionParams: () => ({ authorization: bearer() }) });
  }
  input.addEventListener('change', () => {
    sessionStorage.setItem('atelya.token', input.value.trim());
    // A new token needs a new socket.
    if (socket) socket.dispose();
    socket = wsClient();
  });
  socket = wsClient();

  const http = GraphiQL.createFetcher({ url: '/graphql' });
  function fetcher(params, options) {
    const isSubscription = /^\s*subscription\b/m.test(params.query || '') &&
      !/^\s*(query|mutation)\b/m.test(params.query || '');
    if (isSubscription) {
      return {
        [Symbol.asyncIterator]() {
          const queue = [];
          let wake, done = false;
          const dispose = socket.subscribe(params, {
            next: (value) => { queue.push(value); wake && wake(); },
            error: (error) => { queue.push({ errors: [{ message: String(error && error.reason || error) }] }); done = true; wake && wake(); },
            complete: () => { done = true; wake && wake(); },
          });
          return {
            async next() {
              while (!queue.length && !done) await new Promise((r) => (wake = r));
              if (queue.length) return { value: queue.shift(), done: false };
              return { value: undefined, done: true };
            },
            async return() { dispose(); return { value: undefined, done: true }; },
          };
        },
      };
    }
    const headers = Object.assign({}, options && options.headers);
    if (bearer()) headers.Authorization = bearer();
    return http(params, Object.assign({}, options, { headers }));
  }

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: [
        '# Paste a token above, then run a query.',
        '{',
        '  plans { plan name monthlyCredits }',
        '}',
        '',
        '# The tools agents may call here, and a workroom\'s tool calls:',
        '# query Tools { workspace { tools { name source readOnly requiresApproval enabled } } }',
        '# query ToolCalls($id: ID!) { workroom(id: $id) { tasks { title kind state allowedActions',
        '#   toolCalls { tool arguments state result isError creditsUsed } } } }',
        '',
      ].join('\n'),
      shouldPersistHeaders: false,
    }),
  );
})();
