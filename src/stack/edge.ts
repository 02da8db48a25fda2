/**
 * The edge: the global load balancer (stage 2 on), built after every step that registers a backend, and Cloud DNS
 * (stage 4), after the load balancer whose address and certificate records it publishes. The address,
 * certificates, certificate map and URL maps keep their names at every stage; stages 3 and 4 only change which
 * backend services the routes use (routes.ts), updating the URL map in place.
 */
import * as pulumi from "@pulumi/pulumi";
import { LoadBalancer } from "../../components/load-balancer";
import { Dns } from "../../components/dns";
import type { Media } from "../../components/media";
import type { JitsiSignaling } from "../../components/jitsi-signaling";
import { siteDomains } from "./media";
import { lbRoutes, type LbBackends } from "./routes";
import type { Outputs, StackContext } from "./context";

export interface EdgeInputs {
  media?: Media;
  backends: LbBackends;
  signaling?: JitsiSignaling;
}

export function buildEdge(ctx: StackContext, { media, backends, signaling }: EdgeInputs): { loadBalancer?: LoadBalancer; dns?: Dns; outputs: Outputs } {
  const c = ctx.config;
  if (!c.loadBalancer.enabled || !media) return { outputs: {} };
  const routes = lbRoutes(c, backends);
  if (!routes) {
    // Never silently: the plan shows it, and `up` cannot delete the protected address and certificates.
    void pulumi.log.warn("loadBalancer.enabled but no backend registered in lbBackends (vm, httpPool or gke): the load balancer is left out");
    return { outputs: {} };
  }
  const loadBalancer = new LoadBalancer("lb", {
    ...ctx.scope("load-balancer"),
    // The meet domain has a certificate at every stage with a load balancer (a protected certificate cannot
    // leave at the stage 2 -> 3 move), but a host rule only while Jitsi runs on the VM behind it (stage 2:
    // the VM's 443 is closed to the internet); from stage 3 the signaling VM serves it on its own address.
    domains: [...new Set([...siteDomains(ctx), c.meetDomain])],
    hostRoutes: backends.vm ? [{ host: c.meetDomain, route: "ws" }] : [],
    staticBucketName: media.staticBucket.name,
    mediaBucketName: media.mediaBucket.name,
    staticCacheDays: c.media.staticCacheDays,
    mediaCacheDays: c.media.mediaCacheDays,
    signedMedia: !c.media.publicMedia,
    signingKey: media.keyName && media.signingKeyValue ? { name: media.keyName, value: media.signingKeyValue } : undefined,
    routes,
    rateLimitPerMinute: c.loadBalancer.rateLimitPerMinute,
    wafMode: c.loadBalancer.wafMode,
    logSampleRate: c.loadBalancer.logSampleRate,
  });
  const outputs: Outputs = {
    lbIp: loadBalancer.address,
    urlMap: loadBalancer.urlMap.name,
    // CNAMEs proving control of each domain to Certificate Manager: create them in the domain's zone (the
    // stage-4 Cloud DNS zone does; before that, by hand at the registrar) so the certificates issue and renew.
    dnsAuthorizationRecords: loadBalancer.dnsAuthorizationRecords,
  };
  const dns = c.dns.enabled ? buildDns(ctx, loadBalancer, signaling) : undefined;
  if (dns) outputs.dnsNameServers = dns.nameServers;
  return { loadBalancer, dns, outputs };
}

function buildDns(ctx: StackContext, loadBalancer: LoadBalancer, signaling: JitsiSignaling | undefined): Dns {
  const c = ctx.config;
  return new Dns("dns", {
    prefix: ctx.prefix,
    labels: ctx.labels("dns"),
    domain: c.domain,
    meetDomain: c.meetDomain,
    dnssec: c.dns.dnssec,
    entryIp: loadBalancer.address,
    meetIp: signaling?.address,
    // One Certificate Manager DNS authorization per certificate domain inside the zone (others: their own zone).
    // The meet domain's certificate (kept from stage 2) renews through its record too.
    authorizationRecords: Object.keys(loadBalancer.dnsAuthorizations)
      .filter((d) => d === c.domain || d.endsWith(`.${c.domain}`))
      .map((d) => {
        const rec = loadBalancer.dnsAuthorizations[d]!.dnsResourceRecords.apply((rs) => rs?.[0]);
        return { name: rec.apply((r) => r?.name ?? ""), type: rec.apply((r) => r?.type ?? "CNAME"), data: rec.apply((r) => r?.data ?? "") };
      }),
  });
}
