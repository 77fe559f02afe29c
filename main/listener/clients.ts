import { BlockList, isIP } from 'node:net';
import { hostname } from 'node:os';

/**
 * Which computers may call the 1C listener when it is bound to a LAN address (several POS of one
 * file infobase, or a 1C cluster): this computer (127.0.0.1, ::1) and the addresses and subnets in
 * `listener.allowedClients`. Matching is Node's BlockList, which also matches an IPv4 rule against
 * the `::ffff:a.b.c.d` form a dual-stack socket reports.
 */

export interface ClientRule {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** `192.168.1.25`, `192.168.1.0/24`, `fd00::/64`, `::ffff:192.168.1.25`; null when it is none of these. */
export function parseClientRule(text: string): ClientRule | null {
  const parts = text.trim().split('/');
  if (parts.length > 2 || parts[0].includes('%')) return null; // no zone ids: they are per-interface, not an address
  const version = isIP(parts[0]);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = parts.length === 2 ? (/^\d{1,3}$/.test(parts[1]) ? Number(parts[1]) : NaN) : max;
  if (!(prefix >= 0 && prefix <= max)) return null;
  return { address: parts[0], prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A predicate over a socket's remote address: this computer, or a listed client. */
export function clientAllowList(rules: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  list.addAddress('127.0.0.1', 'ipv4');
  list.addAddress('::1', 'ipv6');
  for (const text of rules) {
    const rule = parseClientRule(text);
    if (rule) list.addSubnet(rule.address, rule.prefix, rule.family);
  }
  return (address) => {
    if (address === undefined) return false;
    const version = isIP(address);
    return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
}

/** An address as people write it: `::ffff:192.168.1.7` → `192.168.1.7`. */
export function plainAddress(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/**
 * A Host header naming this computer on the connection the request came in on: the address it
 * arrived at (what POS in the LAN type into 1C's settings) or this computer's name. DNS rebinding
 * needs a name the attacker resolves, which is neither.
 */
export function namesThisComputer(host: string, localAddress: string | undefined): boolean {
  if (localAddress) {
    const plain = plainAddress(localAddress).toLowerCase();
    if (host === (plain.includes(':') ? `[${plain}]` : plain)) return true;
  }
  return host === hostname().toLowerCase();
}

/** The allow-list as one line for `sputnik check`, `serve` and the docs. */
export function describeClients(host: string, rules: readonly string[], loopbackBind: boolean): string {
  if (loopbackBind) return `API для 1С слушает ${host}: только этот компьютер`;
  return `API для 1С слушает ${host} (открыт в сеть): принимаются этот компьютер (127.0.0.1, ::1) и listener.allowedClients — ${rules.join(', ')}`;
}
