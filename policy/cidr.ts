/**
 * Address arithmetic for the network rules: which part of a set of source ranges lies outside the ranges a rule
 * trusts. Judging by coverage, not by spelling, is what stops `0.0.0.0/1` + `128.0.0.0/1` (or 256 /8s, or
 * `::/1` + `8000::/1`) from passing a check that looks for the string "0.0.0.0/0".
 */

export interface Interval {
  v: 4 | 6;
  lo: bigint;
  hi: bigint;
}

const BITS = { 4: 32n, 6: 128n } as const;

function ipv4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let out = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out = (out << 8n) | BigInt(Number(p));
  }
  return out;
}

function ipv6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || (s.match(/::/g) ?? []).length > 1) return undefined;
  let text = s;
  // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4(v4[1]!);
    if (n === undefined) return undefined;
    text = `${text.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const missing = 8 - h.length - t.length;
  if ((tail === undefined && missing !== 0) || (tail !== undefined && missing < 1)) return undefined;
  const groups = [...h, ...Array(tail === undefined ? 0 : missing).fill("0"), ...t];
  let out = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    out = (out << 16n) | BigInt(parseInt(g, 16));
  }
  return out;
}

/** A CIDR (or a bare address) as an interval, or undefined when it is not one. */
export function parseCidr(text: unknown): Interval | undefined {
  if (typeof text !== "string") return undefined;
  const [addr, len, extra] = text.trim().split("/");
  if (extra !== undefined || !addr) return undefined;
  const v: 4 | 6 = addr.includes(":") ? 6 : 4;
  const n = v === 4 ? ipv4(addr) : ipv6(addr);
  if (n === undefined) return undefined;
  const bits = BITS[v];
  const prefix = len === undefined ? bits : /^[0-9]{1,3}$/.test(len) ? BigInt(Number(len)) : -1n;
  if (prefix < 0n || prefix > bits) return undefined;
  const size = 1n << (bits - prefix);
  const lo = (n / size) * size; // GCP normalises host bits away: 10.0.0.5/8 means 10.0.0.0/8
  return { v, lo, hi: lo + size - 1n };
}

/** The union of intervals of one family, merged and sorted. */
function merge(xs: Interval[]): Interval[] {
  const sorted = [...xs].sort((a, b) => (a.v !== b.v ? a.v - b.v : a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: Interval[] = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    if (last && last.v === x.v && x.lo <= last.hi + 1n) {
      if (x.hi > last.hi) last.hi = x.hi;
    } else out.push({ ...x });
  }
  return out;
}

/** `a` minus `b`: the addresses of `a` no interval of `b` contains. */
export function subtract(a: Interval[], b: Interval[]): Interval[] {
  let rest = merge(a);
  for (const cut of merge(b)) {
    const next: Interval[] = [];
    for (const r of rest) {
      if (r.v !== cut.v || cut.hi < r.lo || cut.lo > r.hi) {
        next.push(r);
        continue;
      }
      if (cut.lo > r.lo) next.push({ v: r.v, lo: r.lo, hi: cut.lo - 1n });
      if (cut.hi < r.hi) next.push({ v: r.v, lo: cut.hi + 1n, hi: r.hi });
    }
    rest = next;
  }
  return rest;
}

/** How many addresses the intervals hold (per family). */
export function size(xs: Interval[], v: 4 | 6): bigint {
  return merge(xs)
    .filter((x) => x.v === v)
    .reduce((n, x) => n + (x.hi - x.lo + 1n), 0n);
}

const parseAll = (ranges: string[]) => ranges.map(parseCidr).filter((x): x is Interval => x !== undefined);

/**
 * Address space that is never the public internet: RFC 1918, shared (100.64/10), loopback, link-local, and IPv6
 * unique-local, link-local and loopback. A source inside these is a VPC peer, not the world.
 */
export const PRIVATE_RANGES = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "fc00::/7",
  "fe80::/10",
  "::1/128",
];

/** Google's own front ends: IAP TCP forwarding, and the load balancers' health checks and proxies. */
export const IAP_RANGE = "35.235.240.0/20";
export const GOOGLE_FRONT_END_RANGES = ["130.211.0.0/22", "35.191.0.0/16", IAP_RANGE];

/**
 * The part of `ranges` outside private space and `trusted`, as sizes per family. An unparseable entry is
 * treated as the whole internet (fail closed: GCP would refuse it, a policy must not wave it through).
 */
export function publicReach(ranges: unknown[], trusted: string[] = []): { v4: bigint; v6: bigint; all: boolean } {
  const strs = ranges.map((r) => String(r));
  const bad = strs.some((r) => parseCidr(r) === undefined);
  const parsed = bad ? parseAll([...strs, "0.0.0.0/0", "::/0"]) : parseAll(strs);
  const outside = subtract(parsed, parseAll([...PRIVATE_RANGES, ...trusted]));
  const full4 = size(parsed, 4) === 1n << 32n;
  const full6 = size(parsed, 6) === 1n << 128n;
  return { v4: size(outside, 4), v6: size(outside, 6), all: full4 || full6 };
}

/** Whether any address of `ranges` is public and outside `trusted`. */
export function reachesInternet(ranges: unknown[], trusted: string[] = []): boolean {
  const r = publicReach(ranges, trusted);
  return r.v4 > 0n || r.v6 > 0n;
}

/** Whether the public part of `ranges` is wider than one IPv4 /n (or an IPv6 /m): a broad slice of the internet. */
export function widerThan(ranges: unknown[], v4Prefix: number, v6Prefix: number): boolean {
  const r = publicReach(ranges);
  return r.v4 > 1n << BigInt(32 - v4Prefix) || r.v6 > 1n << BigInt(128 - v6Prefix);
}
