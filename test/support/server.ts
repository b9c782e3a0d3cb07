import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server listening on 127.0.0.1 at a port the kernel chose. */
export interface TestServer {
  server: http.Server;
  port: number;
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  /** Stops listening and ends every open connection (a keep-alive one too); safe to call twice. */
  close: () => Promise<void>;
}

/**
 * The one HTTP server of the tests: `handler` answers every request on 127.0.0.1:0. Without a
 * handler, every request is left unanswered (a server that accepts and never replies).
 */
export async function startServer(handler?: http.RequestListener): Promise<TestServer> {
  const server = handler ? http.createServer(handler) : http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** Runs `use` against a server answering with `handler`, and closes the server after, whatever `use` did. */
export async function withServer<T>(handler: http.RequestListener | undefined, use: (s: TestServer) => Promise<T>): Promise<T> {
  const s = await startServer(handler);
  try {
    return await use(s);
  } finally {
    await s.close();
  }
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago): to start a real service on, or to be refused by. */
export async function freePort(): Promise<number> {
  const s = await startServer();
  await s.close();
  return s.port;
}
