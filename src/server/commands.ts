// Every command group, assembled into the table the dispatcher uses.
import { ACL_COMMANDS } from './acl.js';
import { ADMIN_COMMANDS } from './admin.js';
import { BITMAP_COMMANDS } from './bitops.js';
import { CONNECTION_COMMANDS } from './connection.js';
import { DUMP_COMMANDS } from './dump.js';
import { KEY_COPY_COMMANDS } from './key-copy.js';
import { GEO_COMMANDS } from './geo.js';
import { HASH_COMMANDS } from './hashes.js';
import { HYPERLOGLOG_COMMANDS } from './hyperloglog.js';
import { LIST_COMMANDS } from './lists.js';
import { KEY_COMMANDS } from './keys.js';
import { MEMORY_COMMANDS } from './memory-usage.js';
import { SAVE_COMMANDS } from './save.js';
import { MULTI_COMMANDS } from './multi.js';
import { OBJECT_COMMANDS } from './object.js';
import { PUBSUB_COMMANDS } from './pubsub.js';
import { SET_COMMANDS } from './sets.js';
import { STRING_COMMANDS } from './strings.js';
import { STREAM_COMMANDS } from './streams.js';
import { STREAM_GROUP_COMMANDS } from './stream-groups.js';
import { STREAM_INFO_COMMANDS } from './stream-info.js';
import { ZSET_COMMANDS } from './zsets.js';
import { SCRIPTING_COMMANDS } from './scripting.js';
import { FUNCTION_COMMANDS } from './functions.js';
import { CommandTable } from './table.js';
import { withDenyOom } from './admission.js';
import { TTL_COMMANDS } from './ttl.js';

export function buildCommandTable(): CommandTable {
  const table = new CommandTable();
  for (const group of [CONNECTION_COMMANDS, PUBSUB_COMMANDS, STRING_COMMANDS, KEY_COMMANDS, KEY_COPY_COMMANDS, OBJECT_COMMANDS, TTL_COMMANDS, HASH_COMMANDS, SET_COMMANDS, ZSET_COMMANDS, LIST_COMMANDS, ADMIN_COMMANDS, MEMORY_COMMANDS, MULTI_COMMANDS, DUMP_COMMANDS, STREAM_COMMANDS, STREAM_GROUP_COMMANDS, STREAM_INFO_COMMANDS, SCRIPTING_COMMANDS, FUNCTION_COMMANDS, ACL_COMMANDS, SAVE_COMMANDS, BITMAP_COMMANDS, HYPERLOGLOG_COMMANDS, GEO_COMMANDS]) {
    for (const spec of group) table.add(withDenyOom(spec));
  }
  return table;
}
