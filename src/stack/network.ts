/** The VPC (every stage): subnets per region, NAT, firewall rules, Private Service Access. */
import { GOOGLE_LB_RANGES, Network, regionRanges } from "../../components/network";
import { withNetwork, type NetworkedContext, type Outputs, type StackContext } from "./context";

export function buildNetwork(ctx: StackContext): { ctx: NetworkedContext; outputs: Outputs } {
  const c = ctx.config;
  const network = new Network("network", {
    prefix: ctx.prefix,
    labels: ctx.labels("network"),
    regions: regionRanges(ctx.regions, c.network),
    // Once a load balancer fronts the web machines, only Google's proxies reach 80/443.
    webSourceRanges: c.loadBalancer.enabled ? GOOGLE_LB_RANGES : ["0.0.0.0/0"],
    privateServiceAccess: c.network.privateServiceAccess,
    privateServicesPrefixLength: c.network.privateServicesPrefixLength,
    privateServicesAddress: c.network.privateServicesAddress,
  });
  return { ctx: withNetwork(ctx, network), outputs: { network: network.network.name } };
}
