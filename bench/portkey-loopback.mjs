// Preloaded (node --import) into the Portkey gateway's own build/start-server.js by bench/lib/portkey.ts.
// start-server.js takes --port but no host (it listens on every interface) and offers no way to learn
// the port it got, so this:
// - makes a listen() without a host listen on 127.0.0.1 only;
// - writes {"port": N} on file descriptor 3 once it listens (the bench passes --port=0);
// - refuses any outgoing connection that is not to loopback, so the gateway cannot reach the network
//   (the bench must only talk to 127.0.0.1): the attempt fails and is reported on stderr;
// - exits when its stdin closes, so it never outlives the bench, however the bench ends.
import { writeSync } from 'node:fs';
import net from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']);

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [first, second] = args;
  if (typeof first === 'object' && first !== null && !Array.isArray(first) && first.host === undefined)
    args[0] = { ...first, host: '127.0.0.1' };
  else if ((typeof first === 'number' || /^\d+$/.test(String(first))) && typeof second !== 'string')
    args.splice(1, second === undefined ? 1 : 0, '127.0.0.1');
  this.once('listening', () => {
    const address = this.address();
    if (typeof address !== 'object' || address === null) return;
    try {
      writeSync(3, `${JSON.stringify({ port: address.port, host: address.address })}\n`);
    } catch {
      // fd 3 is not open: started by hand, not by the bench
    }
  });
  return listen.apply(this, args);
};

// net.connect/tls.connect hand Socket#connect their arguments already normalized: [[options, cb]].
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const normalized = Array.isArray(args[0]) ? args[0] : args;
  const [first, second] = normalized;
  const options = typeof first === 'object' && first !== null ? first : { port: first, host: second };
  const host = options.path === undefined ? String(options.host ?? 'localhost') : undefined;
  if (host !== undefined && !LOOPBACK.has(host.replace(/^\[|\]$/g, ''))) {
    const err = new Error(`bench: Portkey tried to connect to ${host}; only loopback is allowed`);
    process.stderr.write(`${err.message}\n`);
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return connect.apply(this, args);
};

process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
