import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { physicalName } from "../src/naming";
import { statefulOptions } from "../src/options";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext } from "./context";

/** A DNS record the load balancer's certificate needs (Certificate Manager DNS authorization: a CNAME). */
export interface DnsAuthorizationRecord {
  /** Fully qualified, with the trailing dot (`_acme-challenge.courses.example.org.`). */
  name: pulumi.Input<string>;
  type: pulumi.Input<string>;
  data: pulumi.Input<string>;
}

export interface DnsArgs extends Pick<ComponentContext, "prefix" | "labels"> {
  /** The site's domain (the zone's apex). */
  domain: string;
  /** Jitsi's host (meet.<domain>); must be inside the zone. */
  meetDomain: string;
  /** DNSSEC on (the registrar needs the DS record from the zone's keys afterwards). */
  dnssec: boolean;
  /** The load balancer's global anycast IP: A record of the domain. */
  entryIp: pulumi.Input<string>;
  /** Jitsi signaling's external IP: A record of meetDomain. @default undefined (no record) */
  meetIp?: pulumi.Input<string>;
  /** Certificate Manager DNS-authorization records, one per certificate domain. @default [] */
  authorizationRecords?: DnsAuthorizationRecord[];
  /** TTL of the A records (seconds). @default 300 */
  ttl?: number;
}

/** Whether `host` is the zone's apex or below it. */
export function inZone(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

/** Argument checks, one refusal line each; the config refuses its own meetDomain outside the zone first (rules/needs.ts). */
export function dnsProblems(args: Pick<DnsArgs, "domain" | "meetDomain">): string[] {
  if (inZone(args.meetDomain, args.domain)) return [];
  return [
    argRefuser("Dns")(
      "meetDomain",
      args.meetDomain,
      `is not inside the zone of args.domain ${args.domain}`,
      `a host under ${args.domain}`,
      `meet.${args.domain}`,
    ),
  ];
}

/**
 * Cloud DNS public zone for the domain, DNSSEC signed, with A records for the global entry IP and for Jitsi, and
 * the CNAMEs that let Certificate Manager issue and renew the load balancer's certificate. Protected: a deleted
 * zone gets new name servers, and every registrar delegation would break.
 *
 * After the first `up`, set the zone's `nameServers` (and the DS record of DNSSEC) at the registrar.
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class Dns extends pulumi.ComponentResource {
  public readonly zone: gcp.dns.ManagedZone;
  public readonly nameServers: pulumi.Output<string[]>;
  public readonly records: gcp.dns.RecordSet[];

  constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:dns:Dns", name, {}, opts);
    const problems = dnsProblems(args);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);
    const ttl = args.ttl ?? 300;
    this.zone = new gcp.dns.ManagedZone(
      `${name}-zone`,
      {
        name: physicalName(args.prefix, "zone", "dnsZone"),
        dnsName: `${args.domain}.`,
        description: `Course Organizer public zone for ${args.domain}`,
        visibility: "public",
        dnssecConfig: { state: args.dnssec ? "on" : "off", nonExistence: "nsec3" },
        labels: args.labels,
        forceDestroy: false,
      },
      statefulOptions(this),
    );
    const record = (role: string, a: { name: pulumi.Input<string>; type: pulumi.Input<string>; rrdatas: pulumi.Input<string>[]; ttl: number }) =>
      new gcp.dns.RecordSet(`${name}-${role}`, { managedZone: this.zone.name, ...a }, { parent: this });
    this.records = [record("apex-a", { name: `${args.domain}.`, type: "A", ttl, rrdatas: [args.entryIp] })];
    if (args.meetIp !== undefined) {
      this.records.push(record("meet-a", { name: `${args.meetDomain}.`, type: "A", ttl, rrdatas: [args.meetIp] }));
    }
    (args.authorizationRecords ?? []).forEach((r, i) => this.records.push(record(`cert-auth-${i}`, { name: r.name, type: r.type, ttl, rrdatas: [r.data] })));
    this.nameServers = this.zone.nameServers;
    this.registerOutputs({ nameServers: this.nameServers });
  }
}
