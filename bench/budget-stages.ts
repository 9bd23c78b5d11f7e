// Which stage of the write path a CPU-profile sample belongs to (bench/budget.ts): the
// innermost frame of its stack that a rule below names decides; frames of shared helpers
// (bytes, row keys, record codec, lmdb-js, Node's own modules) pass the sample up to
// their caller. Samples no frame decides fall to a stage by the stack's root (socket
// reads, promise and immediate queues) or to 'other'.

export const STAGES = [
  { name: 'socket read (Node)', about: 'net/stream code delivering a chunk, no peerkv frame above' },
  { name: 'RESP decode', about: 'wire/resp-decoder' },
  { name: 'batch loop (listener)', about: 'net/resp-listener: onData, runBatch, afterBatch' },
  { name: 'dispatch + handler', about: 'server/table, the command handler, typed-keys, session bookkeeping' },
  { name: 'LMDB read', about: 'storage/lmdb-store get/scan (the old version, or the GET) and its decode' },
  { name: 'HLC stamp', about: 'core/hlc' },
  { name: 'keyspace/Merkle update', about: 'core/keyspace, merkle, tombstones, score indexes' },
  { name: 'core step/effects', about: 'core/node step, the runtime carrying out effects, keyspace events' },
  { name: 'LMDB encode/put', about: 'storage/lmdb-store write: overlay, encode, lmdb-js put' },
  { name: 'commit wait/report', about: 'persistence, session deferWrite/settle, commit callbacks, promise/immediate queues' },
  { name: 'replication enqueue', about: 'core/replication-links, replication frames' },
  { name: 'reply encode', about: 'wire/resp appenders' },
  { name: 'reply write', about: 'resp-listener write: socket.write and Node stream code under it' },
  { name: 'GC', about: '(garbage collector)' },
  { name: 'native, unattributed', about: '(program): native code V8 cannot attribute (libuv, syscalls before JS runs)' },
  { name: 'other', about: 'everything else (the budget prints its top frames)' },
] as const;

export type Stage = (typeof STAGES)[number]['name'];

export interface Frame {
  readonly functionName: string;
  readonly url: string;
}

type Rule = Stage | 'inherit' | ((functionName: string) => Stage | 'inherit');

/** Rules by file under dist/ (without .js). */
const FILE_RULES: Readonly<Record<string, Rule>> = {
  'src/wire/resp-decoder': 'RESP decode',
  'src/wire/resp': 'reply encode',
  'src/wire/resp-encoder': 'reply encode',
  'src/net/resp-listener': (name) => (name === 'write' || name === 'push' ? 'reply write' : 'batch loop (listener)'),
  'src/server/session': (name) => (['deferWrite', 'settle', 'settleOne', 'splice', 'hasPending', 'pendingCount', 'beginExec', 'endExec'].includes(name) ? 'commit wait/report' : 'dispatch + handler'),
  'src/core/hlc': 'HLC stamp',
  'src/core/keyspace': 'keyspace/Merkle update',
  'src/core/merkle': 'keyspace/Merkle update',
  'src/core/tombstones': 'keyspace/Merkle update',
  'src/core/score-indexes': 'keyspace/Merkle update',
  'src/core/score-tree': 'keyspace/Merkle update',
  'src/core/node': 'core step/effects',
  'src/runtime/node-runtime': 'core step/effects',
  'src/runtime/keyspace-events': 'core step/effects',
  'src/runtime/effects': 'core step/effects',
  'src/runtime/persistence': 'commit wait/report',
  'src/core/replication-links': 'replication enqueue',
  'src/core/replication': 'replication enqueue',
  'src/wire/record-batch-codec': 'replication enqueue',
  'src/net/peer-links': 'replication enqueue',
  'src/storage/lmdb-store': (name) => {
    if (name === 'get' || name.startsWith('scan') || name === 'readRange' || name === 'appendBucket') return 'LMDB read';
    if (name === 'settle' || name === 'commitFailed' || name === '') return 'commit wait/report'; // '' : the commit's promise reactions
    return 'LMDB encode/put';
  },
  'src/storage/overlay': (name) => (name === 'inRange' || name === 'ofBucket' || name === 'get' ? 'LMDB read' : 'LMDB encode/put'),
  // Shared helpers: their caller's stage.
  'src/storage/record-codec': 'inherit',
  'src/core/bytes': 'inherit',
  'src/core/rows': 'inherit',
  'src/core/record': 'inherit',
};

/** Files of the server's command layer not named above. */
const DISPATCH_PREFIX = 'src/server/';

function ruleOf(frame: Frame, root: string): Rule | undefined {
  const url = frame.url;
  if (url === '') return 'inherit'; // builtins and native functions called from JS
  if (url.startsWith('node:')) return 'inherit';
  if (url.includes('/node_modules/')) return 'inherit';
  const distPrefix = `file://${root}/dist/`;
  if (!url.startsWith(distPrefix)) return undefined;
  const file = url.slice(distPrefix.length).replace(/\.js$/, '');
  const rule = FILE_RULES[file];
  if (rule !== undefined) return rule;
  if (file.startsWith(DISPATCH_PREFIX)) return 'dispatch + handler';
  return undefined;
}

/** The stage of a sample whose stack is `frames`, innermost first. */
export function stageOfStack(frames: readonly Frame[], root: string): Stage {
  const leaf = frames[0]!;
  if (leaf.functionName === '(garbage collector)') return 'GC';
  if (leaf.functionName === '(program)') return 'native, unattributed';
  for (const frame of frames) {
    const rule = ruleOf(frame, root);
    if (rule === undefined) continue;
    const stage = typeof rule === 'function' ? rule(frame.functionName) : rule;
    if (stage !== 'inherit') return stage;
  }
  // No peerkv frame decided: the stack's root tells what the event loop was doing.
  const names = new Set(frames.map((frame) => frame.functionName));
  if (names.has('onStreamRead')) return 'socket read (Node)';
  if (frames.some((frame) => frame.url.includes('/node_modules/lmdb/'))) return 'commit wait/report';
  if (names.has('processTicksAndRejections') || names.has('runMicrotasks') || names.has('processImmediate')) return 'commit wait/report';
  if (names.has('afterWriteDispatched') || names.has('afterWrite') || names.has('onWriteComplete')) return 'reply write';
  return 'other';
}
