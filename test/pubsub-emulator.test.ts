/**
 * The planned Pub/Sub topology against Google's Pub/Sub emulator (gcloud beta emulators pubsub, on loopback):
 * a message the worker keeps failing is delivered exactly maxDeliveryAttempts times on email-worker, then lands
 * in email-queue-dead-letter (held by its own subscription) with its delivery count. Names, ack deadline,
 * retention and the dead-letter policy come from the stage-4 plan; only the retry backoff is shortened to 0-1 s
 * so the test takes seconds (the planned 10-600 s would take minutes; backoff does not change the semantics).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, plan } from "./helpers/plan";

const PORT = 18511;
const BASE = `http://127.0.0.1:${PORT}/v1/projects/test`;
let emulator: ChildProcess | undefined;
let dir = "";

async function call(method: string, path: string, body: unknown): Promise<any> {
  const r = await fetch(`${BASE}/${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pubsub-emu-"));
  // Its own process group, so afterAll stops gcloud's wrapper and the Java server it starts, by this PID.
  emulator = spawn("gcloud", ["beta", "emulators", "pubsub", "start", `--host-port=127.0.0.1:${PORT}`, "--project=test", `--data-dir=${dir}`], {
    detached: true,
    stdio: "ignore",
  });
  for (let i = 0; i < 60; i++) {
    try {
      const r = await fetch(`${BASE}/topics`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`the Pub/Sub emulator did not answer on 127.0.0.1:${PORT} within 30 s`);
}, 60_000);

afterAll(() => {
  if (emulator?.pid) {
    try {
      process.kill(-emulator.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("dead-letter semantics of the planned subscription (Pub/Sub emulator)", () => {
  it("a message nacked maxDeliveryAttempts times moves to the dead-letter subscription", async () => {
    const p = await plan("stage4");
    const topic = get(p, "gcp:pubsub/topic:Topic", "queue-topic").inputs as { name: string; messageRetentionDuration: string };
    const dlTopic = get(p, "gcp:pubsub/topic:Topic", "queue-dead-letter-topic").inputs as { name: string };
    const sub = get(p, "gcp:pubsub/subscription:Subscription", "queue-subscription").inputs as any;
    const dlSub = get(p, "gcp:pubsub/subscription:Subscription", "queue-dead-letter-subscription").inputs as any;
    const attempts = sub.deadLetterPolicy.maxDeliveryAttempts as number;
    expect(attempts).toBe(5);

    await call("PUT", `topics/${topic.name}`, { messageRetentionDuration: topic.messageRetentionDuration });
    await call("PUT", `topics/${dlTopic.name}`, {});
    await call("PUT", `subscriptions/${dlSub.name}`, { topic: `projects/test/topics/${dlTopic.name}`, ackDeadlineSeconds: dlSub.ackDeadlineSeconds });
    const created = await call("PUT", `subscriptions/${sub.name}`, {
      topic: `projects/test/topics/${topic.name}`,
      ackDeadlineSeconds: sub.ackDeadlineSeconds,
      messageRetentionDuration: sub.messageRetentionDuration,
      retryPolicy: { minimumBackoff: "0s", maximumBackoff: "1s" },
      deadLetterPolicy: { deadLetterTopic: `projects/test/topics/${dlTopic.name}`, maxDeliveryAttempts: attempts },
    });
    expect(created.deadLetterPolicy).toEqual({ deadLetterTopic: "projects/test/topics/email-queue-dead-letter", maxDeliveryAttempts: 5 });

    const data = Buffer.from(JSON.stringify({ type: "verification_email", user_id: 1 })).toString("base64");
    await call("POST", `topics/${topic.name}:publish`, { messages: [{ data }] });

    // The worker fails every time: nack (ack deadline 0) and pull again until nothing comes back (an empty pull
    // long-polls by default, hence returnImmediately).
    const seen: number[] = [];
    for (let i = 0; i < attempts + 5 && seen.length <= attempts; i++) {
      const r = await call("POST", `subscriptions/${sub.name}:pull`, { maxMessages: 1, returnImmediately: true });
      const m = r.receivedMessages?.[0];
      if (!m) {
        if (seen.length >= attempts) break;
        await new Promise((res) => setTimeout(res, 1200));
        continue;
      }
      seen.push(m.deliveryAttempt);
      await call("POST", `subscriptions/${sub.name}:modifyAckDeadline`, { ackIds: [m.ackId], ackDeadlineSeconds: 0 });
      await new Promise((res) => setTimeout(res, 1200));
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);

    // The emulator forwards to the dead-letter topic when the next delivery would be due, i.e. on the next pull:
    // keep pulling email-worker (never a sixth delivery) and poll the dead-letter subscription.
    let dead: any = {};
    for (let i = 0; i < 20 && !dead.receivedMessages; i++) {
      const again = await call("POST", `subscriptions/${sub.name}:pull`, { maxMessages: 1, returnImmediately: true });
      expect(again.receivedMessages ?? []).toEqual([]);
      dead = await call("POST", `subscriptions/${dlSub.name}:pull`, { maxMessages: 5, returnImmediately: true });
      if (!dead.receivedMessages) await new Promise((res) => setTimeout(res, 500));
    }
    expect(dead.receivedMessages).toHaveLength(1);
    const msg = dead.receivedMessages[0].message;
    expect(msg.data).toBe(data);
    expect(msg.attributes.CloudPubSubDeadLetterSourceDeliveryCount).toBe("5");
    expect(msg.attributes.CloudPubSubDeadLetterSourceSubscription).toBe("email-worker");
  }, 90_000);
});
