/** The single-VM platform (stages 1-2; retained, stopped, at stage 3 while its data moves to Cloud SQL). */
import { alertThresholds } from "../config/schema";
import { GOOGLE_LB_RANGES } from "../../components/network";
import { VmPlatform } from "../../components/vm-platform";
import { vmMonitoringFiles } from "../files/prometheus";
import { VM_WS_PER_DAPHNE } from "../config/capacity";
import { defaultVmZone } from "../zones";
import { BackupBucket } from "../../components/backup-bucket";
import { vmBackupArgs } from "../recovery";
import type { Identity } from "./identity";
import type { Media } from "../../components/media";
import type { LbInstanceGroup } from "./routes";
import type { NetworkedContext, Outputs } from "./context";

export interface Vm {
  vm?: VmPlatform;
  /** Stage 2: the VM's unmanaged instance group (named port http:80) behind the load balancer; none once retired. */
  lbBackend?: LbInstanceGroup;
  outputs: Outputs;
}

export function buildVm(ctx: NetworkedContext, id: Identity, media: Media | undefined): Vm {
  const c = ctx.config;
  if (!id.vmIdentity) return { outputs: {} };
  const signingKey = media?.signingKey && c.vm.enabled ? media.signingKey : undefined;
  // Point-in-time recovery of the VM's PostgreSQL: the backup bucket (while the VM exists).
  const backupBucket = c.vm.backup.enabled
    ? new BackupBucket("vm-backups", {
        ...ctx.scope("vm-backups"),
        location: c.vm.backup.bucketLocation,
        deletedObjectRetentionDays: c.vm.backup.deletedObjectRetentionDays,
        writers: [id.vmIdentity.member],
      })
    : undefined;
  const vm = new VmPlatform("vm", {
    ...ctx.scope("vm"),
    ...ctx.placement(ctx.region),
    zone: c.vm.zone ?? defaultVmZone(ctx.region),
    serviceAccountEmail: id.vmIdentity.email,
    machineType: c.vm.machineType,
    bootDiskGb: c.vm.bootDiskGb,
    dataDiskGb: c.vm.dataDiskGb,
    dataDiskType: c.vm.dataDiskType,
    snapshotRetentionDays: c.vm.snapshotRetentionDays,
    snapshotStartTime: c.vm.snapshotStartTime,
    secrets: id.secrets.map((s) => ({ env: s.env, secretId: s.secret.secretId })),
    // The first boot reads every secret and pulls the backend image: the values and grants exist before it.
    bootDependencies: [
      ...id.secrets.flatMap((s) => [s.secret.version, ...s.secret.accessorGrants]),
      ...id.registry.readerGrants,
      ...id.mirror.readerGrants,
      ...(signingKey ? [signingKey.version, ...signingKey.accessorGrants] : []),
      ...(backupBucket?.writerGrants ?? []),
    ],
    registryHosts: id.registryHosts,
    images: id.images,
    domain: c.domain,
    meetDomain: c.meetDomain,
    acmeEmail: c.alertEmails[0]!,
    backendReplicas: c.vm.backendReplicas,
    gunicornWorkers: c.vm.gunicornWorkers,
    gunicornThreads: c.vm.gunicornThreads,
    redis: { maxmemory: c.vm.redisMaxmemory, maxmemoryPolicy: c.vm.redisMaxmemoryPolicy, save: c.vm.redisSave },
    databaseIndexes: c.vm.databaseIndexes,
    // Stage 2: media and static files in Cloud Storage (the grants and files take the bucket names as outputs,
    // so they wait for the buckets).
    mediaBucket: media?.mediaBucket.name,
    staticBucket: media?.staticBucket.name,
    // Private media: the app signs CDN URLs with the media step's key (it grants the VM's account access).
    cdnSigningKey: media?.keyName && media.signingKeySecretId ? { keyName: media.keyName, secretId: media.signingKeySecretId } : undefined,
    publicMedia: c.media.publicMedia,
    sentryDsn: c.monitoring.sentryDsn,
    copyMediaToBucket: c.media.copyFromVm,
    staticCacheDays: c.media.staticCacheDays,
    mediaCacheDays: c.media.mediaCacheDays,
    behindLoadBalancer: c.loadBalancer.enabled,
    loadBalancerRanges: c.loadBalancer.enabled ? GOOGLE_LB_RANGES : undefined,
    // The seed's self-hosted monitoring (Prometheus, Grafana) with the same thresholds as Cloud Monitoring's policies.
    monitoringFiles: vmMonitoringFiles({
      project: ctx.project,
      thresholds: alertThresholds(c.monitoring),
      durationSeconds: c.monitoring.durationSeconds,
      // The VM's own Prometheus watches its one Daphne process (seed: ~10,000 connections).
      websocketCapacity: VM_WS_PER_DAPHNE,
    }),
    // The Database Migration Service job reads the VM's PostgreSQL over the VPC (data.ts).
    postgresMigrationSource: c.database.migrateFromVm,
    backup: backupBucket ? vmBackupArgs(c.vm.backup, backupBucket.bucketName) : undefined,
    // Stage 3 (vm.enabled false, vm.retained true): stopped, out of the load balancer, final snapshot.
    retired: !c.vm.enabled,
  });
  return {
    vm,
    lbBackend: vm.instanceGroup ? { group: vm.instanceGroup.selfLink } : undefined,
    outputs: {
      vmIp: vm.address,
      vmName: vm.instance.name,
      vmZone: vm.instance.zone,
      vmServiceAccount: vm.serviceAccountEmail,
      vmDataDisk: vm.dataDisk.name,
      ...(backupBucket ? { vmBackupBucket: backupBucket.bucketName } : {}),
    },
  };
}
