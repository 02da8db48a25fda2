/** Seed "Message Queue for Async Tasks" (stage 4): the api publishes, the workers consume; nobody else holds either right. */
import { Queue } from "../../components/queue";
import type { Gke } from "./gke";
import type { Outputs, StackContext } from "./context";

/** The subscription the GKE worker Deployment consumes. */
export const EMAIL_SUBSCRIPTION = "email-worker";

export function buildQueue(ctx: StackContext, gke: Gke): { queue?: Queue; outputs: Outputs } {
  const q = ctx.config.queue;
  if (!q.enabled) return { outputs: {} };
  const queue = new Queue("queue", {
    labels: ctx.labels("queue"),
    project: ctx.project,
    topicName: "email-queue",
    subscriptionName: EMAIL_SUBSCRIPTION,
    ackDeadlineSeconds: q.ackDeadlineSeconds,
    maxDeliveryAttempts: q.maxDeliveryAttempts,
    retentionDays: q.retentionDays,
    minBackoffSeconds: q.minBackoffSeconds,
    maxBackoffSeconds: q.maxBackoffSeconds,
    publishers: gke.identities ? [gke.identities.accounts.api.member] : [],
    subscribers: gke.identities ? [gke.identities.accounts.worker.member] : [],
  });
  return { queue, outputs: { emailTopic: queue.topicName, emailSubscription: queue.subscriptionName } };
}
