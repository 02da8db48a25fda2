/**
 * Pub/Sub on the stage-4 plan (seed "Message Queue for Async Tasks"): topic email-queue, subscription email-worker
 * with retry policy, dead letter after 5 attempts to email-queue-dead-letter (kept by its own subscription), 7 days
 * of retention, the Pub/Sub service agent's grants, publish for the api identity only, subscribe for the worker only.
 */
import { describe, expect, it } from "vitest";
import { get, ofType, plan } from "./helpers/plan";
import { PROJECT_NUMBER } from "../src/plan/mocks";

const TOPIC = "gcp:pubsub/topic:Topic";
const SUB = "gcp:pubsub/subscription:Subscription";
const labels = { app: "course-organizer", component: "queue", "managed-by": "pulumi", stage: "4" };
const agent = `serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;
const sa = (w: string) => `serviceAccount:co-gke-${w}@course-organizer-demo.iam.gserviceaccount.com`;

describe.each([false, true])("Pub/Sub at stage 4 (preview %s)", (preview) => {
  it("topic email-queue and its dead-letter topic keep messages 7 days and are protected", async () => {
    const p = await plan("stage4", { preview });
    expect(ofType(p, TOPIC).map((t) => [t.name, t.inputs])).toEqual([
      ["queue-topic", { name: "email-queue", labels, messageRetentionDuration: "604800s" }],
      ["queue-dead-letter-topic", { name: "email-queue-dead-letter", labels, messageRetentionDuration: "604800s" }],
    ]);
    for (const t of ofType(p, TOPIC)) {
      expect(t.protect).toBe(true);
      expect(t.retainOnDelete).toBe(true);
    }
  });

  it("subscription email-worker: ack 60 s, backoff 10-600 s, dead letter after 5 deliveries, no expiry", async () => {
    const p = await plan("stage4", { preview });
    const s = get(p, SUB, "queue-subscription");
    expect(s.inputs).toEqual({
      name: "email-worker",
      topic: preview ? "[unknown]" : "projects/course-organizer-demo/topics/email-queue",
      labels,
      ackDeadlineSeconds: 60,
      messageRetentionDuration: "604800s",
      retryPolicy: { minimumBackoff: "10s", maximumBackoff: "600s" },
      deadLetterPolicy: { deadLetterTopic: preview ? "[unknown]" : "projects/course-organizer-demo/topics/email-queue-dead-letter", maxDeliveryAttempts: 5 },
      expirationPolicy: { ttl: "" },
      enableExactlyOnceDelivery: true,
    });
    expect(s.dependencies).toContain(get(p, TOPIC, "queue-dead-letter-topic").urn);
    const dl = get(p, SUB, "queue-dead-letter-subscription");
    expect(dl.inputs).toMatchObject({
      name: "email-queue-dead-letter",
      ackDeadlineSeconds: 60,
      messageRetentionDuration: "604800s",
      retainAckedMessages: true,
      expirationPolicy: { ttl: "" },
    });
    expect(dl.inputs.deadLetterPolicy).toBeUndefined();
  });
});

describe("Pub/Sub grants", () => {
  it("the Pub/Sub service agent forwards dead letters: publisher on the dead-letter topic, subscriber on email-worker", async () => {
    const p = await plan("stage4");
    expect(get(p, "gcp:pubsub/topicIAMMember:TopicIAMMember", "queue-dead-letter-publisher-agent").inputs).toEqual({
      topic: "email-queue-dead-letter",
      role: "roles/pubsub.publisher",
      member: agent,
    });
    expect(get(p, "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember", "queue-subscriber-agent").inputs).toEqual({
      subscription: "email-worker",
      role: "roles/pubsub.subscriber",
      member: agent,
    });
  });

  it("only the api identity publishes and only the worker identity subscribes", async () => {
    const p = await plan("stage4");
    const topicGrants = ofType(p, "gcp:pubsub/topicIAMMember:TopicIAMMember").filter((g) => g.inputs.member !== agent);
    expect(topicGrants.map((g) => g.inputs)).toEqual([{ topic: "email-queue", role: "roles/pubsub.publisher", member: sa("api") }]);
    const subGrants = ofType(p, "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember").filter((g) => g.inputs.member !== agent);
    expect(subGrants.map((g) => g.inputs)).toEqual([{ subscription: "email-worker", role: "roles/pubsub.subscriber", member: sa("worker") }]);
    // No project-wide Pub/Sub role for anyone.
    expect(ofType(p, "gcp:projects/iAMMember:IAMMember").filter((m) => String(m.inputs.role).startsWith("roles/pubsub"))).toEqual([]);
  });

  it("the worker HPA scales on this subscription's backlog", async () => {
    const p = await plan("stage4");
    const h = get(p, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "workloads-us-central1-horizontalpodautoscaler-course-organizer-worker-hpa");
    expect((h.inputs.spec as any).metrics[0].external.metric.selector.matchLabels).toEqual({ "resource.labels.subscription_id": "email-worker" });
  });

  it("the settings tell the app its topic and subscription; no queue before stage 4", async () => {
    const p = await plan("stage4");
    const data = get(p, "gcp:secretmanager/secretVersion:SecretVersion", "app-settings-json-version").inputs.secretData as { "[secret]": string };
    const env = JSON.parse(data["[secret]"]) as Record<string, string>;
    expect([env.PUBSUB_PROJECT, env.PUBSUB_EMAIL_TOPIC, env.PUBSUB_EMAIL_SUBSCRIPTION]).toEqual(["course-organizer-demo", "email-queue", "email-worker"]);
    expect(ofType(await plan("stage3"), TOPIC)).toEqual([]);
  });
});
