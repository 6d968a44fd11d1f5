// The socket.io 4.8 echo server of the comparative benchmarks (bench/cmd/benchrun starts
// it with `node --expose-gc bench/socketio/server.mjs`). Every "echo" event is emitted
// back to its sender. POST /publish?n=N&size=S broadcasts N messages of S bytes, made as
// loadgen.Append makes them (id "P", the server's clock in nanoseconds), to every
// connected socket with io.emit; GET /mem runs the GC and reports process.memoryUsage().
// Transports: polling and websocket, no compression. The first line on stdout is
// "listening on http://127.0.0.1:<port>". It runs until killed.
import http from 'node:http';
import { Server } from 'socket.io';

// message mirrors bench/loadgen.Append: "<id>:<seq>:<ns>:" then filler letters.
function message(id, seq, size) {
  const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)).toString();
  const s = `${id}:${seq}:${ns}:`;
  const parts = [s];
  for (let i = s.length; i < size; i++) parts.push(String.fromCharCode(97 + ((seq + i) % 26)));
  return parts.join('');
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  transports: ['polling', 'websocket'],
  perMessageDeflate: false,
  httpCompression: false,
  maxHttpBufferSize: 1e8,
  cors: { origin: true },
});
io.on('connection', (socket) => {
  socket.on('echo', (m) => socket.emit('echo', m));
});
httpServer.prependListener('request', (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/publish' && req.method === 'POST') {
    const n = Number(url.searchParams.get('n'));
    const size = Number(url.searchParams.get('size'));
    for (let seq = 0; seq < n; seq++) io.emit('echo', message('P', seq, size));
    res.end(`published ${n} to ${io.engine.clientsCount}\n`);
  } else if (url.pathname === '/mem') {
    if (global.gc) global.gc();
    const m = process.memoryUsage();
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ rss: m.rss, heap_inuse: m.heapUsed, external: m.external, sessions: io.engine.clientsCount }));
  }
});
httpServer.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}`);
});
