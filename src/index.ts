// Programmatic API: start a peerkv node inside another program.
import { NodeRuntime, PEERKV_VERSION } from './runtime/node-runtime.js';
import { createLogger, type Logger } from './runtime/logger.js';
import { defaultNodeOptions, validateNodeOptions, type NodeOptions } from './runtime/options.js';
import { reservePort } from './runtime/ports.js';

export { defaultNodeOptions, validateNodeOptions, PEERKV_VERSION };
export type { NodeOptions };

export interface NodeHandle {
  readonly clientPort: number;
  readonly peerPort: number;
  readonly nodeId: string;
  readonly name: string;
  /** The running node, for INFO-level introspection in tests and embedders. */
  readonly runtime: NodeRuntime;
  /** Stop accepting, flush, close storage. Idempotent. */
  stop(): Promise<void>;
}

export class InvalidOptionsError extends Error {
  readonly code = 'invalid_options';
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/**
 * Start a node. Options not given take the defaults of `peerkv start`; port 0 picks
 * free ports. Throws InvalidOptionsError listing every problem with the options.
 */
export async function startNode(overrides: Partial<NodeOptions> = {}, logger?: Logger): Promise<NodeHandle> {
  let options = defaultNodeOptions(overrides);
  const problems = validateNodeOptions(options);
  if (problems.length > 0) throw new InvalidOptionsError(problems);
  if (options.port === 0) options = { ...options, port: await reservePort(options.bind) };
  const runtime = await NodeRuntime.start(options, logger ?? createLogger(options.logLevel));
  return {
    clientPort: runtime.clientPort,
    peerPort: runtime.peerPort,
    nodeId: runtime.self.id,
    name: runtime.self.name,
    runtime,
    stop: () => runtime.stop(),
  };
}
