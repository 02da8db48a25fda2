import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { statefulOptions } from "../src/options";
import { argRefuser } from "../src/config/refusal";
import type { ComponentContext } from "./context";

export interface QueueArgs extends Pick<ComponentContext, "project" | "labels"> {
  /** The seed's topic name ("Message Queue for Async Tasks": topic_path(..., 'email-queue')). */
  topicName: string;
  /** The seed's subscription name (subscription_path(..., 'email-worker')). */
  subscriptionName: string;
  /** Seconds a worker has to ack before redelivery (sending one e-mail through the Gmail API). */
  ackDeadlineSeconds: number;
  /** Deliveries before a message goes to the dead-letter topic (Pub/Sub allows 5..100). */
  maxDeliveryAttempts: number;
  /** Days messages are kept on the topic and in the subscriptions (Pub/Sub allows up to 7 for subscriptions). */
  retentionDays: number;
  /** Retry policy backoff bounds (seconds, Pub/Sub allows 0..600). */
  minBackoffSeconds: number;
  maxBackoffSeconds: number;
  /** Members (`serviceAccount:...`) that publish to the topic: the api identity only. */
  publishers: pulumi.Input<string>[];
  /** Members that consume the subscription: the worker identity only. */
  subscribers: pulumi.Input<string>[];
}

const seconds = (s: number) => `${s}s`;

/**
 * Argument checks against Pub/Sub's limits, one refusal line each. The config refuses what it could produce these
 * from first (the schema's queue section, rules/pairs.ts for the backoff window).
 */
export function queueProblems(
  args: Pick<QueueArgs, "maxDeliveryAttempts" | "minBackoffSeconds" | "maxBackoffSeconds" | "ackDeadlineSeconds" | "retentionDays">,
): string[] {
  const refuse = argRefuser("Queue");
  const p: string[] = [];
  const range = (path: string, v: number, min: number, max: number, what: string) => {
    if (!(v >= min && v <= max)) p.push(refuse(path, v, `is outside Pub/Sub's ${what}`, `${min}-${max}`, Math.min(max, Math.max(min, v))));
  };
  range("maxDeliveryAttempts", args.maxDeliveryAttempts, 5, 100, "dead-letter delivery attempts");
  range("maxBackoffSeconds", args.maxBackoffSeconds, 0, 600, "retry backoff (seconds)");
  if (args.minBackoffSeconds > args.maxBackoffSeconds)
    p.push(
      refuse(
        "minBackoffSeconds",
        args.minBackoffSeconds,
        `is above args.maxBackoffSeconds ${args.maxBackoffSeconds}`,
        `at most ${args.maxBackoffSeconds}`,
        args.maxBackoffSeconds,
      ),
    );
  range("ackDeadlineSeconds", args.ackDeadlineSeconds, 10, 600, "acknowledgement deadlines (seconds)");
  range("retentionDays", args.retentionDays, 1, 7, "message retention (days)");
  return p;
}

/**
 * Pub/Sub for the seed's asynchronous e-mail: topic `email-queue`, pull subscription `email-worker` with a retry
 * policy (exponential backoff) and a dead-letter topic `email-queue-dead-letter` that keeps messages that failed
 * `maxDeliveryAttempts` times, with its own subscription so they are retained for inspection and replay.
 * Pub/Sub forwards to the dead-letter topic as its service agent
 * (`service-<projectNumber>@gcp-sa-pubsub.iam.gserviceaccount.com`), which needs publisher on the dead-letter
 * topic and subscriber on the source subscription (Pub/Sub docs "Dead-letter topics").
 *
 * Cost: priced from data/prices.json, the one source of prices (`npm run plan -- --cost`).
 */
export class Queue extends pulumi.ComponentResource {
  public readonly topic: gcp.pubsub.Topic;
  public readonly subscription: gcp.pubsub.Subscription;
  public readonly deadLetterTopic: gcp.pubsub.Topic;
  public readonly deadLetterSubscription: gcp.pubsub.Subscription;
  public readonly topicName: pulumi.Output<string>;
  public readonly subscriptionName: pulumi.Output<string>;
  /** The Pub/Sub service agent that forwards dead letters. */
  public readonly serviceAgent: pulumi.Output<string>;

  constructor(name: string, args: QueueArgs, opts?: pulumi.ComponentResourceOptions) {
    super("course-organizer:queue:Queue", name, {}, opts);
    const problems = queueProblems(args);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);

    const retention = seconds(args.retentionDays * 86400);
    this.topic = new gcp.pubsub.Topic(
      `${name}-topic`,
      { name: args.topicName, labels: args.labels, messageRetentionDuration: retention },
      statefulOptions(this),
    );
    this.deadLetterTopic = new gcp.pubsub.Topic(
      `${name}-dead-letter-topic`,
      { name: `${args.topicName}-dead-letter`, labels: args.labels, messageRetentionDuration: retention },
      statefulOptions(this),
    );
    // Without a subscription a topic drops what it receives: this one holds the dead letters.
    this.deadLetterSubscription = new gcp.pubsub.Subscription(
      `${name}-dead-letter-subscription`,
      {
        name: `${args.topicName}-dead-letter`,
        topic: this.deadLetterTopic.id,
        labels: args.labels,
        ackDeadlineSeconds: args.ackDeadlineSeconds,
        messageRetentionDuration: retention,
        retainAckedMessages: true,
        expirationPolicy: { ttl: "" },
      },
      // A subscription holds the undelivered messages: deleting it drops them (stateful, protected).
      statefulOptions(this),
    );
    this.subscription = new gcp.pubsub.Subscription(
      `${name}-subscription`,
      {
        name: args.subscriptionName,
        topic: this.topic.id,
        labels: args.labels,
        ackDeadlineSeconds: args.ackDeadlineSeconds,
        messageRetentionDuration: retention,
        retryPolicy: { minimumBackoff: seconds(args.minBackoffSeconds), maximumBackoff: seconds(args.maxBackoffSeconds) },
        deadLetterPolicy: { deadLetterTopic: this.deadLetterTopic.id, maxDeliveryAttempts: args.maxDeliveryAttempts },
        // Never expire for inactivity (the default deletes a subscription idle for 31 days).
        expirationPolicy: { ttl: "" },
        // An e-mail sent twice is worse than one retried late: Pub/Sub's exactly-once delivery within the region.
        enableExactlyOnceDelivery: true,
      },
      statefulOptions(this),
    );

    const project = gcp.organizations.getProjectOutput({ projectId: args.project }, { parent: this });
    this.serviceAgent = pulumi.interpolate`serviceAccount:service-${project.number}@gcp-sa-pubsub.iam.gserviceaccount.com`;
    new gcp.pubsub.TopicIAMMember(
      `${name}-dead-letter-publisher-agent`,
      { topic: this.deadLetterTopic.name, role: "roles/pubsub.publisher", member: this.serviceAgent },
      { parent: this },
    );
    new gcp.pubsub.SubscriptionIAMMember(
      `${name}-subscriber-agent`,
      { subscription: this.subscription.name, role: "roles/pubsub.subscriber", member: this.serviceAgent },
      { parent: this },
    );
    args.publishers.forEach(
      (member, i) =>
        new gcp.pubsub.TopicIAMMember(`${name}-publisher-${i}`, { topic: this.topic.name, role: "roles/pubsub.publisher", member }, { parent: this }),
    );
    args.subscribers.forEach(
      (member, i) =>
        new gcp.pubsub.SubscriptionIAMMember(
          `${name}-subscriber-${i}`,
          { subscription: this.subscription.name, role: "roles/pubsub.subscriber", member },
          { parent: this },
        ),
    );
    this.topicName = this.topic.name;
    this.subscriptionName = this.subscription.name;
    this.registerOutputs({ topic: this.topicName, subscription: this.subscriptionName });
  }
}
