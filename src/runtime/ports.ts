// Free-port lookup for `--port 0` style options, the demo, tests and benchmarks: the OS
// picks a port, we reuse the number (a small race with other processes is accepted).
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

export function reservePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A UDP port free right now (a private discovery group for the demo, a test or a benchmark). */
export function reserveUdpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}
