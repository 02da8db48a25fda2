/**
 * How long a new instance takes from creation until it serves: the autoscaler's initialization period
 * (`autoscalingPolicy.cooldownPeriod`) and the auto-healing initial delay both come from it. Compute Engine's
 * autoscaler ignores an instance's signals for cooldownPeriod seconds after it starts ("set it to the time your
 * application takes to initialize": Compute Engine autoscaler docs, `initialization period`); shorter, and the
 * CPU of a booting instance (package installs, image pulls) counts as load, so the group scales out again while
 * the first new instances are still booting, and overshoots.
 */

/**
 * App instances of the stage-3 HTTP and WebSocket pools (Ubuntu, src/files/app-instance.ts), first boot:
 *   instance created -> guest running                       ~30 s (data/creation-times.json, 15-30 s)
 *   cloud-init: docker and gcloud ready, registry login     ~60 s
 *   backend image pull from Artifact Registry               ~60-90 s (a few hundred MB)
 *   co-settings (Secret Manager), co-pgbouncer               ~15 s
 *   Gunicorn / Daphne import Django and answer the health check ~30 s
 *   co-ops-agent installs the Ops Agent (the WebSocket pool's memory signal) in parallel, ~2-3 min
 * about 200-250 s, rounded up to 300 s: the delay auto-healing already gives a new instance.
 */
export const APP_INSTANCE_BOOT_SECONDS = 300;

/**
 * Videobridge instances (components/video-bridges.ts): docker, the jvb image pull (~1 GB) and the XMPP login to
 * the signaling host: the 600 s the bridges' auto-healing waits.
 */
export const BRIDGE_BOOT_SECONDS = 600;
