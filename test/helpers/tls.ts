/**
 * Test certificates made with the real openssl: EC P-256 keys, a self-signed certificate (a CA, or a server's
 * placeholder like the VM's before certbot), and a server certificate a CA signs. Short-lived: the tests need
 * them for minutes.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });

export interface CertFiles {
  key: string;
  cert: string;
}

/** A self-signed certificate for `subject` (e.g. "/CN=Test CA"), with DNS/IP subject alternative names if given. */
export function selfSigned(o: CertFiles & { subject: string; days?: number; altNames?: string[] }): void {
  openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-days",
    String(o.days ?? 1),
    "-keyout",
    o.key,
    "-out",
    o.cert,
    "-subj",
    o.subject,
    ...(o.altNames ? ["-addext", `subjectAltName=${o.altNames.join(",")}`] : []),
  ]);
}

/** A certificate for `subject` signed by `ca`, with subject alternative names if given (written beside the key). */
export function signedBy(ca: CertFiles, o: CertFiles & { subject: string; days?: number; altNames?: string[] }): void {
  const csr = `${o.cert}.csr`;
  openssl(["req", ...EC_KEY, "-keyout", o.key, "-out", csr, "-subj", o.subject]);
  const ext = `${o.cert}.ext`;
  if (o.altNames) writeFileSync(ext, `subjectAltName=${o.altNames.join(",")}\n`);
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    String(o.days ?? 1),
    "-out",
    o.cert,
    ...(o.altNames ? ["-extfile", ext] : []),
  ]);
}
