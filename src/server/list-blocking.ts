// Blocking list pops: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP.
import type { CommandSpec } from './table.js';

export const LIST_BLOCKING_COMMANDS: readonly CommandSpec[] = [];
