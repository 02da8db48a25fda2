import type * as pulumi from "@pulumi/pulumi";

/**
 * What the stack hands every component (src/stack/context.ts `scope()`): the physical-name prefix, the GCP project
 * and the component's labels. Component args extend it instead of repeating the three fields.
 */
export interface ComponentContext {
  /** Physical-name prefix (`<prefix>-<role>`, src/naming.ts). */
  prefix: string;
  /** GCP project id. */
  project: string;
  /** Labels for every labelable child (app, component, stage, managed-by, plus the stack's own). */
  labels: Record<string, string>;
}

/** Where a component's machines attach: a region of the VPC and its subnet (src/stack/context.ts `placement()`). */
export interface RegionalPlacement {
  /** The region; changing it replaces the component's regional resources (their locations are create-only). */
  region: string;
  /** VPC network id (`projects/<p>/global/networks/<name>`). */
  network: pulumi.Input<string>;
  /** The region's subnet id: machines' interfaces, and the addresses of Private Service Connect endpoints. */
  subnetwork: pulumi.Input<string>;
}

/** Where a Google-managed service with a private IP attaches (Cloud SQL, Memorystore, Memcached). */
export interface PrivateServicePlacement {
  /** The region; changing it replaces the instance (create-only). */
  region: string;
  /** VPC network id. */
  network: pulumi.Input<string>;
  /** The Private Service Access peering (`Network.privateServiceConnection`): no private IP before it exists. */
  privateServiceConnection?: pulumi.Resource;
}
