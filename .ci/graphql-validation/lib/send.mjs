// Sends a request to the server, anonymously: queries and mutations as a
// POST of application/json, subscriptions as a POST asking for
// text/event-stream (the server's HTTP transport for subscriptions; over
// plain JSON it answers none), whose first event is the answer.

const TIMEOUT_MS = 15_000;

export async function send(url, request, operation) {
  const body = JSON.stringify({
    query: request.query,
    variables: request.variables,
    ...(request.operationName != null ? { operationName: request.operationName } : {}),
  });
  const stream = operation === 'subscription';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' },
      body,
      signal: controller.signal,
    });
    const type = res.headers.get('content-type') ?? '';
    if (stream && type.includes('text/event-stream')) {
      const text = await firstEvent(res);
      controller.abort();
      return { status: res.status, transport: 'sse', body: parseJson(text), raw: text };
    }
    const text = await res.text();
    return { status: res.status, transport: stream ? 'sse' : 'json', body: parseJson(text), raw: text };
  } finally {
    clearTimeout(timer);
  }
}

/** The data of the stream's first `next` event (or what the stream held, when it had none). */
async function firstEvent(res) {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = event.split('\n');
      const kind = lines.find((l) => l.startsWith('event:'))?.slice(6).trim();
      const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (kind === 'next' || (!kind && data)) return data;
      if (kind === 'complete') return `(the stream completed without an event)${buffer}`;
    }
  }
  return `(the stream ended without an event)${buffer}`;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
