/**
 * CIDR arithmetic across every region: each range is a real, aligned block; the ranges every region takes (subnet,
 * GKE pods and services, the control plane's /28) and the Private Service Access range never overlap; the bases
 * leave room for every configured region; the GKE control-plane access list holds real networks.
 */
import type { Config } from "../schema";
import { masterCidr } from "../../../components/gke-cluster";
import { regionRanges } from "../../../components/network";
import { k, refuse } from "./util";

/** First and last address of an IPv4 CIDR, as numbers. */
export function cidrBounds(cidr: string): [number, number] {
  const [addr, len] = cidr.split("/");
  const n = addr!.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(len));
  return [n, n + size - 1];
}

const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

/** Why a CIDR is not a real, aligned block (undefined when it is), and the aligned block that contains it. */
export function cidrShape(cidr: string): { problem: string; aligned?: string } | undefined {
  const m = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\/([0-9]{1,2})$/.exec(cidr);
  if (!m) return { problem: "is not an IPv4 CIDR" };
  const octets = m.slice(1, 5).map(Number);
  const len = Number(m[5]);
  if (octets.some((o) => o > 255) || len > 32) return { problem: "is not an IPv4 CIDR (octets 0-255, prefix 0-32)" };
  const [start] = cidrBounds(cidr);
  const size = 2 ** (32 - len);
  if (start % size !== 0) return { problem: `does not start a /${len} block (host bits set)`, aligned: `${toIp(start - (start % size))}/${len}` };
  return undefined;
}

export function networkProblems(c: Config): string[] {
  const p: string[] = [];
  const n = c.network;
  const regions = [c.region, ...c.secondaryRegions];
  const shapes: [string, string][] = [
    ["network.subnetCidr", n.subnetCidr],
    ["network.podsCidr", n.podsCidr],
    ["network.servicesCidr", n.servicesCidr],
    ["kubernetes.masterCidrBase", c.kubernetes.masterCidrBase],
  ];
  let bad = false;
  for (const [path, cidr] of shapes) {
    const s = cidrShape(cidr);
    if (s) {
      bad = true;
      p.push(refuse(path, cidr, s.problem, `an aligned block of that size`, s.aligned));
    }
  }
  c.kubernetes.masterAuthorizedNetworks.forEach((net, i) => {
    const s = cidrShape(net.cidr);
    if (s) p.push(refuse(`kubernetes.masterAuthorizedNetworks[${i}].cidr`, net.cidr, s.problem, "an IPv4 network such as 203.0.113.0/24", s.aligned));
  });
  const psa = `${n.privateServicesAddress}/${n.privateServicesPrefixLength}`;
  const psaShape = cidrShape(psa);
  if (n.privateServiceAccess && psaShape) {
    bad = true;
    p.push(
      refuse(
        "network.privateServicesAddress",
        n.privateServicesAddress,
        `${psaShape.problem} with ${k("network.privateServicesPrefixLength")} ${n.privateServicesPrefixLength}`,
        `an address aligned to /${n.privateServicesPrefixLength}`,
        psaShape.aligned?.split("/")[0],
      ),
    );
  }

  // Each further region takes the next /20 subnet and services block and the next /14 pods block.
  const blocks: { path: string; what: string; cidr: string }[] = [];
  const octet = (cidr: string, i: number) => Number(cidr.split(".")[i]);
  const needSubnet = octet(n.subnetCidr, 2) + 16 * (regions.length - 1);
  const needServices = octet(n.servicesCidr, 2) + 16 * (regions.length - 1);
  const needPods = octet(n.podsCidr, 1) + 4 * (regions.length - 1);
  const exhausted: [string, string, number, string][] = [
    ["network.subnetCidr", n.subnetCidr, needSubnet, "third octet"],
    ["network.servicesCidr", n.servicesCidr, needServices, "third octet"],
    ["network.podsCidr", n.podsCidr, needPods, "second octet"],
  ];
  for (const [path, cidr, need, where] of exhausted) {
    if (need > 255 && !shapes.some(([sp]) => sp === path && cidrShape(cidr)))
      p.push(
        refuse(
          path,
          cidr,
          `leaves no room for ${regions.length} regions (the last would need ${where} ${need})`,
          `a base whose ${where} + ${path === "network.podsCidr" ? 4 : 16} x ${regions.length - 1} stays <= 255`,
        ),
      );
  }
  // Overlaps are only meaningful between real, aligned blocks that all fit.
  if (bad || p.length > 0) return p;

  for (const r of regionRanges(regions, n)) {
    blocks.push({ path: "network.subnetCidr", what: `subnet of ${r.region}`, cidr: r.subnetCidr });
    blocks.push({ path: "network.podsCidr", what: `pods range of ${r.region}`, cidr: r.podsCidr });
    blocks.push({ path: "network.servicesCidr", what: `services range of ${r.region}`, cidr: r.servicesCidr });
  }
  if (c.kubernetes.enabled) {
    regions.forEach((region, i) =>
      blocks.push({ path: "kubernetes.masterCidrBase", what: `GKE control plane of ${region}`, cidr: masterCidr(c.kubernetes.masterCidrBase, i) }),
    );
  }
  if (n.privateServiceAccess) blocks.push({ path: "network.privateServicesAddress", what: "Private Service Access range", cidr: psa });
  const seen = new Set<string>();
  for (let i = 0; i < blocks.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a0, a1] = cidrBounds(blocks[i]!.cidr);
      const [b0, b1] = cidrBounds(blocks[j]!.cidr);
      if (a0 <= b1 && b0 <= a1) {
        // Name the later key (the one most likely just changed) once per pair of keys.
        const key = `${blocks[i]!.path}|${blocks[j]!.path}|${blocks[i]!.what}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const value =
          blocks[i]!.path === "network.privateServicesAddress"
            ? n.privateServicesAddress
            : blocks[i]!.path === "kubernetes.masterCidrBase"
              ? c.kubernetes.masterCidrBase
              : blocks[i]!.path === "network.subnetCidr"
                ? n.subnetCidr
                : blocks[i]!.path === "network.podsCidr"
                  ? n.podsCidr
                  : n.servicesCidr;
        p.push(
          refuse(
            blocks[i]!.path,
            value,
            `makes the ${blocks[i]!.what} ${blocks[i]!.cidr} overlap the ${blocks[j]!.what} ${blocks[j]!.cidr}`,
            "ranges that overlap no other range of any region",
          ),
        );
      }
    }
  }
  return p;
}
