/**
 * Jitsi JWT authentication, the same at every stage (the VM's compose at stages 1-2, the signaling VM from
 * stage 3): rooms open only with a token the app issues. Environment names are docker-jitsi-meet's
 * (docker-compose.yml and prosody/rootfs/defaults/conf.d/jitsi-meet.cfg.lua, jicofo/rootfs/defaults/jicofo.conf):
 *
 * - Prosody: ENABLE_AUTH=1 with AUTH_TYPE=jwt makes the meet domain's VirtualHost `authentication = "token"`
 *   (JWT_AUTH_TYPE's default) with `app_id` = JWT_APP_ID and `app_secret` = JWT_APP_SECRET (HS256), and
 *   `allow_empty_token = false` (JWT_ALLOW_EMPTY 0): a connection without a valid token is refused. The MUC
 *   component's token_verification checks the token's `room` claim against the room joined. JWT_ACCEPTED_ISSUERS
 *   and JWT_ACCEPTED_AUDIENCES (asap_accepted_issuers/audiences) pin `iss` and `aud` to the app's id.
 * - Jicofo: ENABLE_AUTH=1 with AUTH_TYPE=jwt (authentication { enabled = true, type = JWT }): only an
 *   authenticated participant creates a conference.
 * - Web: ENABLE_AUTH=1 (config.js knows authentication is on); ENABLE_GUESTS=0 on all three: no guest
 *   (anonymous) domain, so nobody joins without a token.
 *
 * The app's side (its settings; the app contract): JITSI_JWT_APP_ID, JITSI_JWT_APP_SECRET (the shared secret),
 * JITSI_DOMAIN. It issues HS256 tokens with iss = aud = JITSI_JWT_APP_ID, sub = JITSI_DOMAIN, room = the room
 * name, and a short exp, and opens rooms as https://<JITSI_DOMAIN>/<room>?jwt=<token>.
 */

/** The app id: `iss` and `aud` of every token, Prosody's app_id. */
export const JITSI_JWT_APP_ID = "course-organizer";
/** The env-file variable (and app setting) that carries the shared HS256 secret, from Secret Manager at boot. */
export const JITSI_JWT_SECRET_ENV = "JITSI_JWT_APP_SECRET";

/** Environment of the Prosody container (the secret is the caller's `${VAR}` reference). */
export function prosodyJwtEnv(secretRef: string): Record<string, string> {
  return {
    ENABLE_AUTH: "1",
    AUTH_TYPE: "jwt",
    ENABLE_GUESTS: "0",
    JWT_APP_ID: JITSI_JWT_APP_ID,
    JWT_APP_SECRET: secretRef,
    JWT_ACCEPTED_ISSUERS: JITSI_JWT_APP_ID,
    JWT_ACCEPTED_AUDIENCES: JITSI_JWT_APP_ID,
    JWT_ALLOW_EMPTY: "0",
  };
}

/** Environment of the Jicofo and web containers. */
export function jicofoWebJwtEnv(): Record<string, string> {
  return { ENABLE_AUTH: "1", AUTH_TYPE: "jwt", ENABLE_GUESTS: "0" };
}
