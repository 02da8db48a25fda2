/**
 * The security headers every stage sends, in one place: nginx adds them at stages 1-2 (src/files/nginx.ts), the
 * load balancer adds them as custom response headers from stage 2 on (components/load-balancer.ts: backend
 * services and the media backend bucket both take `customResponseHeaders`), so the app answers alike at every
 * stage whatever Django itself sends.
 *
 * Why each one (OWASP Secure Headers Project):
 * - Strict-Transport-Security: two years, the value HSTS preload lists expect; not includeSubDomains (other hosts
 *   of the domain are not ours). Sent only over HTTPS (browsers ignore it over HTTP anyway).
 * - X-Content-Type-Options nosniff: a browser never runs an upload or a JSON answer as script or HTML by sniffing.
 * - Referrer-Policy strict-origin-when-cross-origin: course and room paths never leak to other sites.
 * - Content-Security-Policy frame-ancestors: no other site frames the app (clickjacking); the meet host may be
 *   framed by the app only (the app may embed a room). base-uri and object-src close injected <base> and plugins
 *   without constraining the app's own scripts (a script-src policy is the app's to send: it knows its sources).
 * - Permissions-Policy: camera, microphone and screen capture only for the app itself and the meet host (an
 *   embedded room needs them); geolocation, payment and USB for nobody.
 */

export const HSTS = "max-age=63072000";

/** Name and value pairs (order kept, for exact tests and stable plans). */
export type Headers = [string, string][];

/** Headers of the app's own responses (HTML and API). `meetDomain`: the Jitsi host the app may embed. */
export function appSecurityHeaders(meetDomain?: string): Headers {
  const meet = meetDomain ? ` "https://${meetDomain}"` : "";
  return [
    ["X-Content-Type-Options", "nosniff"],
    ["Referrer-Policy", "strict-origin-when-cross-origin"],
    ["Content-Security-Policy", "frame-ancestors 'self'; base-uri 'self'; object-src 'none'"],
    ["Permissions-Policy", `camera=(self${meet}), microphone=(self${meet}), display-capture=(self${meet}), geolocation=(), payment=(), usb=()`],
  ];
}

/** Headers of the meet host's responses: framed by the app only, devices for itself only. */
export function meetSecurityHeaders(appDomain: string): Headers {
  return [
    ["X-Content-Type-Options", "nosniff"],
    ["Referrer-Policy", "strict-origin-when-cross-origin"],
    ["Content-Security-Policy", `frame-ancestors 'self' https://${appDomain}; base-uri 'self'; object-src 'none'`],
    ["Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()"],
  ];
}

/**
 * Headers of user uploads (/media/). An uploaded HTML or SVG file opened from the app's own origin would run as
 * stored XSS with the app's cookies; with these it cannot:
 * - CSP `sandbox` (no allow-scripts, no allow-same-origin): the document runs no script and gets a unique opaque
 *   origin, so it can neither read the app's cookies nor call its API; default-src 'none' loads nothing else.
 *   img-src/media-src/style-src let an image, video or plain page still display.
 * - nosniff: a file is never reinterpreted as a more active type than its Content-Type.
 * - Content-Disposition (set by the caller): attachment for every type a browser could render actively (HTML,
 *   SVG, XML, PDF, ...). Content-Disposition affects only top-level navigation: <img>/<video> embedding is unchanged.
 */
export const MEDIA_CSP = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'";
export function mediaSecurityHeaders(): Headers {
  return [
    ["Content-Security-Policy", MEDIA_CSP],
    ["X-Content-Type-Options", "nosniff"],
    ["Referrer-Policy", "no-referrer"],
  ];
}

/** Upload file types a browser may show inline (passive media); every other upload downloads as an attachment. */
export const INLINE_MEDIA_EXTENSIONS = ["png", "jpg", "jpeg", "gif", "webp", "avif", "mp3", "mp4", "m4a", "ogg", "oga", "ogv", "webm", "wav", "txt"] as const;

/** `Name: value` strings, the form the load balancer's customResponseHeaders take. */
export function asHeaderLines(h: Headers): string[] {
  return h.map(([n, v]) => `${n}: ${v}`);
}
