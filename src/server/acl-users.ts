// An ACL user and its rules (Redis 7.0 ACL SETUSER): on/off, passwords (kept only as
// SHA-256 hex, as Redis), allowed commands/subcommands/categories, key patterns (~, %R~,
// %W~) and channel patterns (&). A user is described back as the rule string ACL LIST
// prints, which is also how the replicated user table stores it (acl-store.ts).
// Selectors ("(...)" rules) are not supported: such a rule is a syntax error.
import { Buffer } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ACL_CATEGORIES, categoryBit, type AclCommand } from './acl-categories.js';
import { KeyAccess } from './acl-keys.js';

/** A key pattern and the access it grants (KeyAccess bits: ~ grants both). */
export interface KeyPattern {
  readonly pattern: Buffer;
  access: number;
}

/** Hex SHA-256 of a password, the only form a password is kept in. */
export function hashPassword(password: Uint8Array): string {
  return createHash('sha256').update(password).digest('hex');
}

const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** Error texts of ACL SETUSER (Redis's ACLSetUserStringError). */
const RULE_ERRORS = {
  unknownCommand: 'Unknown command or category name in ACL',
  syntax: 'Syntax error',
  afterAllKeys:
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
  afterAllChannels:
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
  noSuchPassword: 'The password you are trying to remove from the user does not exist',
  badHash: 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters',
  subcommandFirstArg: 'Allowing first-arg of a subcommand is not supported',
} as const;

function hasSpaces(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte === 0x20 || (byte >= 0x09 && byte <= 0x0d) || byte === 0) return true;
  return false;
}

export class AclUser {
  enabled = false;
  noPass = false;
  /** RESTORE payload sanitizing (accepted and shown; peerkv always checks payloads). */
  sanitize: '' | 'sanitize-payload' | 'skip-sanitize-payload' = '';
  /** Hex SHA-256 of each password, in the order added. */
  passwords: string[] = [];
  /** Every command allowed, those added later included: set by +@all, cleared by any removal. */
  allCommands = false;
  /** +@all was the last word on all commands (Redis's "future commands" bit): rules describe from +@all. */
  fromAll = false;
  /** Full names (`get`, `config|get`) allowed when allCommands is false. */
  allowed = new Set<string>();
  /** First arguments allowed for a command otherwise denied (+select|0). */
  firstArgs = new Map<string, string[]>();
  allKeys = false;
  keyPatterns: KeyPattern[] = [];
  allChannels = false;
  channels: Buffer[] = [];
  /** Every command, key and channel: the check before each command is this flag alone. */
  unrestricted = false;

  constructor(readonly name: string) {}

  /** The rules of `other` (names stay): ACL SETUSER stages changes on a copy, then adopts them. */
  copyFrom(other: AclUser): void {
    this.enabled = other.enabled;
    this.noPass = other.noPass;
    this.sanitize = other.sanitize;
    this.passwords = [...other.passwords];
    this.allCommands = other.allCommands;
    this.fromAll = other.fromAll;
    this.allowed = new Set(other.allowed);
    this.firstArgs = new Map([...other.firstArgs].map(([name, args]) => [name, [...args]]));
    this.allKeys = other.allKeys;
    this.keyPatterns = other.keyPatterns.map((pattern) => ({ ...pattern }));
    this.allChannels = other.allChannels;
    this.channels = [...other.channels];
    this.unrestricted = other.unrestricted;
  }

  clone(): AclUser {
    const copy = new AclUser(this.name);
    copy.copyFrom(this);
    return copy;
  }

  /** Whether `password` is one of the user's (any password when nopass); disabled users never match. */
  checkPassword(password: Uint8Array): boolean {
    if (!this.enabled) return false;
    if (this.noPass) return true;
    const hashed = Buffer.from(hashPassword(password));
    let matched = false;
    for (const stored of this.passwords) if (timingSafeEqual(hashed, Buffer.from(stored))) matched = true;
    return matched;
  }

  /**
   * Apply one rule; an error text (Redis's) when it is not valid. The user may be half
   * changed then: callers apply rules to a copy (ACL SETUSER is all or nothing).
   */
  applyRule(rule: Buffer, commands: ReadonlyMap<string, AclCommand>): string | undefined {
    const error = this.applyRuleInner(rule, commands);
    this.unrestricted = this.allCommands && this.allKeys && this.allChannels;
    return error;
  }

  private applyRuleInner(rule: Buffer, commands: ReadonlyMap<string, AclCommand>): string | undefined {
    if (rule.length === 0) return undefined;
    const text = rule.toString('latin1');
    const lower = text.toLowerCase();
    switch (lower) {
      case 'on':
        this.enabled = true;
        return undefined;
      case 'off':
        this.enabled = false;
        return undefined;
      case 'skip-sanitize-payload':
      case 'sanitize-payload':
        this.sanitize = lower;
        return undefined;
      case 'nopass':
        this.noPass = true;
        this.passwords = [];
        return undefined;
      case 'resetpass':
        this.noPass = false;
        this.passwords = [];
        return undefined;
      case 'reset':
        for (const word of ['resetpass', 'resetkeys', 'resetchannels', 'off', 'sanitize-payload', '-@all']) this.applyRuleInner(Buffer.from(word), commands);
        return undefined;
      case 'allkeys':
      case '~*':
        this.allKeys = true;
        this.keyPatterns = [];
        return undefined;
      case 'resetkeys':
        this.allKeys = false;
        this.keyPatterns = [];
        return undefined;
      case 'allchannels':
      case '&*':
        this.allChannels = true;
        this.channels = [];
        return undefined;
      case 'resetchannels':
        this.allChannels = false;
        this.channels = [];
        return undefined;
      case 'allcommands':
      case '+@all':
        this.allCommands = true;
        this.fromAll = true;
        this.allowed = new Set(commands.keys());
        this.firstArgs.clear();
        return undefined;
      case 'nocommands':
      case '-@all':
        this.allCommands = false;
        this.fromAll = false;
        this.allowed.clear();
        this.firstArgs.clear();
        return undefined;
    }
    const first = text[0];
    if (first === '>' || first === '#') return this.addPassword(rule, first === '#');
    if (first === '<' || first === '!') return this.removePassword(rule, first === '!');
    if (first === '~' || first === '%') return this.addKeyPattern(rule);
    if (first === '&') {
      if (this.allChannels) return RULE_ERRORS.afterAllChannels;
      const pattern = rule.subarray(1);
      if (hasSpaces(pattern)) return RULE_ERRORS.syntax;
      if (!this.channels.some((known) => known.equals(pattern))) this.channels.push(Buffer.from(pattern));
      return undefined;
    }
    if ((first === '+' || first === '-') && text[1] === '@') return this.changeCategory(lower.slice(2), first === '+', commands);
    if (first === '+' || first === '-') return this.changeCommand(lower.slice(1), first === '+', commands);
    return RULE_ERRORS.syntax;
  }

  private addPassword(rule: Buffer, isHash: boolean): string | undefined {
    const hash = isHash ? rule.toString('latin1', 1) : hashPassword(rule.subarray(1));
    if (isHash && !HASH_PATTERN.test(hash)) return RULE_ERRORS.badHash;
    if (!this.passwords.includes(hash)) this.passwords.push(hash);
    this.noPass = false;
    return undefined;
  }

  private removePassword(rule: Buffer, isHash: boolean): string | undefined {
    const hash = isHash ? rule.toString('latin1', 1) : hashPassword(rule.subarray(1));
    if (isHash && !HASH_PATTERN.test(hash)) return RULE_ERRORS.badHash;
    const index = this.passwords.indexOf(hash);
    if (index < 0) return RULE_ERRORS.noSuchPassword;
    this.passwords.splice(index, 1);
    return undefined;
  }

  private addKeyPattern(rule: Buffer): string | undefined {
    if (this.allKeys) return RULE_ERRORS.afterAllKeys;
    let access = 0;
    let offset = 1;
    if (rule[0] === 0x25) {
      // %R~, %W~, %RW~
      for (; offset < rule.length; offset++) {
        const letter = rule[offset]! & 0xdf;
        if (letter === 0x52 && (access & KeyAccess.Read) === 0) access |= KeyAccess.Read;
        else if (letter === 0x57 && (access & KeyAccess.Write) === 0) access |= KeyAccess.Write;
        else if (rule[offset] === 0x7e) {
          offset++;
          break;
        } else return RULE_ERRORS.syntax;
      }
      if (rule[offset - 1] !== 0x7e || access === 0) return RULE_ERRORS.syntax;
    } else {
      access = KeyAccess.ReadWrite;
    }
    const pattern = rule.subarray(offset);
    if (hasSpaces(pattern)) return RULE_ERRORS.syntax;
    const known = this.keyPatterns.find((existing) => existing.pattern.equals(pattern));
    if (known !== undefined) known.access |= access;
    else this.keyPatterns.push({ pattern: Buffer.from(pattern), access });
    // "*" for reads and writes (%RW~*, or %R~* and %W~*) is every key: kept as allkeys, which
    // is how it is described (~*) and read back from the stored table.
    if (this.keyPatterns.some((entry) => entry.access === KeyAccess.ReadWrite && entry.pattern.length === 1 && entry.pattern[0] === 0x2a)) {
      this.allKeys = true;
      this.keyPatterns = [];
    }
    return undefined;
  }

  private changeCategory(name: string, allow: boolean, commands: ReadonlyMap<string, AclCommand>): string | undefined {
    const bit = categoryBit(name);
    if (bit === undefined) return RULE_ERRORS.unknownCommand;
    for (const command of commands.values()) if ((command.categories & bit) !== 0) this.changeOne(command, allow, commands);
    return undefined;
  }

  private changeCommand(name: string, allow: boolean, commands: ReadonlyMap<string, AclCommand>): string | undefined {
    const bar = name.lastIndexOf('|');
    const command = commands.get(name);
    if (bar < 0 || command !== undefined) {
      if (command === undefined) return RULE_ERRORS.unknownCommand;
      this.changeOne(command, allow, commands);
      return undefined;
    }
    // +select|0: a first argument of a command without subcommands (Redis allows it, deprecated).
    const container = commands.get(name.slice(0, bar));
    const sub = name.slice(bar + 1);
    if (container === undefined) return RULE_ERRORS.unknownCommand;
    if (container.container !== undefined) return RULE_ERRORS.subcommandFirstArg;
    if (sub.length === 0) return RULE_ERRORS.syntax;
    if (container.subcommands.length > 0) return RULE_ERRORS.unknownCommand;
    if (!allow) return RULE_ERRORS.unknownCommand;
    if (this.allowed.has(container.fullName)) return undefined; // allowed whatever its first argument
    const args = this.firstArgs.get(container.fullName) ?? [];
    if (!args.includes(sub)) args.push(sub);
    this.firstArgs.set(container.fullName, args);
    return undefined;
  }

  /** Allow or deny one command; a container's subcommands follow it. */
  private changeOne(command: AclCommand, allow: boolean, commands: ReadonlyMap<string, AclCommand>): void {
    for (const fullName of [command.fullName, ...command.subcommands]) {
      if (allow) this.allowed.add(fullName);
      else this.allowed.delete(fullName);
    }
    this.allCommands = this.allowed.size === commands.size;
    this.firstArgs.delete(command.fullName);
  }

  /** The command rules as Redis describes them: +@all or -@all, best-fitting categories, then single commands. */
  describeCommands(commands: ReadonlyMap<string, AclCommand>): string {
    const rules: string[] = [this.fromAll ? '+@all' : '-@all'];
    const additive = !this.fromAll;
    const fake = new Set<string>(additive ? [] : commands.keys());
    // What is left to explain, as Redis's temporary selector: categories applied are undone here.
    const remaining = new Set(this.allowed);
    const applied = new Set<number>();
    for (;;) {
      let best = -1;
      let mindiff = Number.MAX_SAFE_INTEGER;
      let maxsame = 0;
      ACL_CATEGORIES.forEach((_, index) => {
        if (applied.has(index)) return;
        let on = 0;
        let off = 0;
        for (const command of commands.values()) {
          if ((command.categories & (1 << index)) === 0) continue;
          if (remaining.has(command.fullName)) on++;
          else off++;
        }
        const diff = additive ? off : on;
        const same = additive ? on : off;
        if (same > diff && (diff < mindiff || (diff === mindiff && same > maxsame))) {
          best = index;
          mindiff = diff;
          maxsame = same;
        }
      });
      if (best < 0) break;
      const bit = 1 << best;
      for (const command of commands.values()) {
        if ((command.categories & bit) === 0) continue;
        for (const fullName of [command.fullName, ...command.subcommands]) {
          if (additive) (fake.add(fullName), remaining.delete(fullName));
          else (fake.delete(fullName), remaining.add(fullName));
        }
      }
      rules.push(`${additive ? '+' : '-'}@${ACL_CATEGORIES[best]}`);
      applied.add(best);
    }
    for (const command of commands.values()) {
      const userBit = this.allowed.has(command.fullName);
      if (userBit !== fake.has(command.fullName)) {
        rules.push(`${userBit ? '+' : '-'}${command.fullName}`);
        for (const fullName of [command.fullName, ...command.subcommands]) {
          if (userBit) fake.add(fullName);
          else fake.delete(fullName);
        }
      }
      if (!userBit) for (const arg of this.firstArgs.get(command.fullName) ?? []) rules.push(`+${command.fullName}|${arg}`);
    }
    return rules.join(' ');
  }

  /** Key patterns as ACL LIST / GETUSER print them. */
  describeKeys(): string[] {
    if (this.allKeys) return ['~*'];
    return this.keyPatterns.map(({ pattern, access }) => `${access === KeyAccess.ReadWrite ? '~' : access === KeyAccess.Read ? '%R~' : '%W~'}${pattern.toString('latin1')}`);
  }

  describeChannels(): string[] {
    if (this.allChannels) return ['&*'];
    return this.channels.map((channel) => `&${channel.toString('latin1')}`);
  }

  /** The whole user as ACL LIST prints it after `user <name> ` (and the stored table holds it). */
  describe(commands: ReadonlyMap<string, AclCommand>): string {
    const parts: string[] = [this.enabled ? 'on' : 'off'];
    if (this.noPass) parts.push('nopass');
    if (this.sanitize !== '') parts.push(this.sanitize);
    for (const hash of this.passwords) parts.push(`#${hash}`);
    parts.push(...this.describeKeys());
    if (!this.allChannels) parts.push('resetchannels');
    parts.push(...this.describeChannels());
    parts.push(this.describeCommands(commands));
    return parts.join(' ');
  }

  /** Flags as ACL GETUSER lists them. */
  flagNames(): string[] {
    const flags = [this.enabled ? 'on' : 'off'];
    if (this.noPass) flags.push('nopass');
    if (this.sanitize !== '') flags.push(this.sanitize);
    return flags;
  }
}

/** The default user of a node without ACL changes: everything, with requirepass as its password when given. */
export function defaultUser(requirepass: string | undefined, commands: ReadonlyMap<string, AclCommand>): AclUser {
  const user = new AclUser('default');
  for (const rule of ['+@all', '~*', '&*', 'on']) user.applyRule(Buffer.from(rule), commands);
  user.applyRule(requirepass === undefined ? Buffer.from('nopass') : Buffer.concat([Buffer.from('>'), Buffer.from(requirepass)]), commands);
  return user;
}
