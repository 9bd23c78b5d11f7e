// Replies printed the way redis-cli prints them on a terminal ("(integer) 1", "(nil)",
// quoted bulk strings, numbered arrays), and command lines split the way redis-cli splits
// them (double quotes with escapes, single quotes verbatim). Pure; used by the demo shell.
import type { RespReply } from '../wire/resp-reply-parser.js';

export function formatReply(reply: RespReply, indent = ''): string {
  switch (reply.type) {
    case 'simple':
      return reply.value;
    case 'error':
      return `(error) ${reply.value}`;
    case 'integer':
      return `(integer) ${reply.value}`;
    case 'bulk':
    case 'verbatim':
      return quoteBytes(reply.value);
    case 'null':
      return '(nil)';
    case 'boolean':
      return reply.value ? '(true)' : '(false)';
    case 'double':
      return `(double) ${reply.value}`;
    case 'bignumber':
      return `(big number) ${reply.value}`;
    case 'array':
    case 'set':
    case 'push':
      return formatList(reply.value, indent);
    case 'map':
      return formatList(reply.value.flatMap(([key, value]) => [key, value]), indent);
  }
}

function formatList(items: readonly RespReply[], indent: string): string {
  if (items.length === 0) return '(empty array)';
  const width = String(items.length).length;
  return items
    .map((item, index) => {
      const label = `${String(index + 1).padStart(width)}) `;
      const inner = formatReply(item, indent + ' '.repeat(label.length));
      return `${index === 0 ? '' : indent}${label}${inner}`;
    })
    .join('\n');
}

/** "text" with \n, \", \\ and non-printable bytes escaped as \xHH, like redis-cli. */
export function quoteBytes(bytes: Uint8Array): string {
  let text = '"';
  const decoded = Buffer.from(bytes).toString('utf8');
  const utf8 = Buffer.from(decoded, 'utf8').equals(Buffer.from(bytes));
  if (utf8) {
    for (const char of decoded) {
      const code = char.codePointAt(0)!;
      if (char === '"' || char === '\\') text += `\\${char}`;
      else if (char === '\n') text += '\\n';
      else if (char === '\r') text += '\\r';
      else if (char === '\t') text += '\\t';
      else if (code < 0x20 || code === 0x7f) text += `\\x${code.toString(16).padStart(2, '0')}`;
      else text += char;
    }
  } else {
    for (const byte of bytes) {
      if (byte === 0x22 || byte === 0x5c) text += `\\${String.fromCharCode(byte)}`;
      else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
      else text += `\\x${byte.toString(16).padStart(2, '0')}`;
    }
  }
  return `${text}"`;
}

/** Splits a command line into arguments; undefined when a quote is left open. */
export function splitCommandLine(line: string): string[] | undefined {
  const args: string[] = [];
  let index = 0;
  while (index < line.length) {
    while (index < line.length && /\s/.test(line[index]!)) index++;
    if (index >= line.length) break;
    let current = '';
    let quoted = false;
    while (index < line.length && !/\s/.test(line[index]!)) {
      const char = line[index]!;
      if (char === '"') {
        quoted = true;
        index++;
        let closed = false;
        while (index < line.length) {
          const inner = line[index]!;
          if (inner === '\\' && index + 1 < line.length) {
            const next = line[index + 1]!;
            const hex = /^x[0-9a-fA-F]{2}$/.test(line.slice(index + 1, index + 4)) ? line.slice(index + 2, index + 4) : undefined;
            if (hex !== undefined) {
              current += String.fromCharCode(parseInt(hex, 16));
              index += 4;
              continue;
            }
            current += next === 'n' ? '\n' : next === 'r' ? '\r' : next === 't' ? '\t' : next;
            index += 2;
            continue;
          }
          index++;
          if (inner === '"') {
            closed = true;
            break;
          }
          current += inner;
        }
        if (!closed) return undefined;
      } else if (char === "'") {
        quoted = true;
        const end = line.indexOf("'", index + 1);
        if (end < 0) return undefined;
        current += line.slice(index + 1, end);
        index = end + 1;
      } else {
        current += char;
        index++;
      }
    }
    if (current !== '' || quoted) args.push(current);
  }
  return args;
}
