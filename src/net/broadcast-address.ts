// Where discovery announcements go when the user did not say (--broadcast): the broadcast
// address of the subnet that --bind belongs to, so announcements never leave that subnet.
import { networkInterfaces } from 'node:os';

export const LOOPBACK_BROADCAST_ADDRESS = '127.255.255.255';

export function broadcastAddressFor(bind: string): string {
  if (bind.startsWith('127.') || bind === 'localhost') return LOOPBACK_BROADCAST_ADDRESS;
  const bindValue = parseIpv4(bind);
  if (bindValue === null) {
    throw new Error(`cannot derive a broadcast address for --bind ${bind}: discovery needs an IPv4 address; set --broadcast or use --no-discovery`);
  }
  const interfaces = networkInterfaces();
  for (const name of Object.keys(interfaces).sort()) {
    for (const info of interfaces[name] ?? []) {
      if (info.family !== 'IPv4' || info.address !== bind) continue;
      const mask = parseIpv4(info.netmask);
      if (mask === null) continue;
      return formatIpv4((bindValue | ~mask) >>> 0);
    }
  }
  throw new Error(`no network interface owns --bind ${bind}: bind to an address of this host, or set --broadcast, or use --no-discovery`);
}

function parseIpv4(address: string): number | null {
  const parts = address.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}
