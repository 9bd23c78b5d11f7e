// List edits: LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP.
import type { CommandSpec } from './table.js';

export const LIST_EDIT_COMMANDS: readonly CommandSpec[] = [];
