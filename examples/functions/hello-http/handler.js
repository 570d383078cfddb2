// hello-http: a handler for the of-watchdog template, here an ES module (CommonJS's
// `module.exports = async (event, context) => …` works the same). event: { method, path, query,
// rawQuery, headers, body (a Buffer), text(), json() }; context.status(code) and
// context.headers({...}) set the response; the return value is its body (a string, a Buffer, or
// anything else as JSON).
export default async (event, context) => {
  if (event.method !== 'GET' && event.method !== 'POST') {
    context.status(405).headers({ Allow: 'GET, POST' });
    return 'Method Not Allowed\n';
  }
  const name = event.query.name ?? (event.text().trim() || 'world');
  return { greeting: `Hello, ${name}!`, path: event.path };
};
