// hello-node: a plain Node.js program run once per request by the classic watchdog. The request body
// arrives on stdin; whatever the program prints is the response. Http_Method, Http_Path, Http_Query
// and one Http_<Header> variable per request header describe the request.
const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', () => {
  const name = chunks.join('').trim() || 'world';
  process.stdout.write(`Hello, ${name}! (${process.env.Http_Method ?? 'no'} request)\n`);
});
