/**
 * scripts/release-retired.sh offline: a stand-in `gcloud` first on PATH records every call and answers from a
 * small state directory (which resources still exist), so the dry run, the archive-and-release run and the
 * expiry run are checked call by call. Plus shellcheck.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectDir } from "./helpers/plan";

const script = join(projectDir, "scripts/release-retired.sh");

/** Describes answer from $T/exists/<name>; deletes remove the file; creates add it (status READY). */
const fakeGcloud = String.raw`#!/usr/bin/env bash
set -euo pipefail
echo "gcloud $*" >> "$T/calls.log"
name_of() { for a in "$@"; do case "$a" in -*) ;; gs://*) echo "${"$"}{a#gs://}"; return ;; *) echo "$a"; return ;; esac; done; }
case "$1 $2" in
  "compute disks"|"compute instances"|"compute snapshots"|"compute addresses"|"compute resource-policies"|"storage buckets")
    verb="$3"; shift 3
    n="$(name_of "$@")"
    case "$verb" in
      describe)
        [[ -f "$T/exists/$n" ]] || { echo "ERROR: not found: $n" >&2; exit 1; }
        case "$*" in *"labels.expires"*) cat "$T/exists/$n" ;; *status*) echo READY ;; *) echo "$n" ;; esac ;;
      delete) rm -f "$T/exists/$n" ;;
      create) : > "$T/exists/$n" ;;
      list)
        case "$*" in
          *final-archive\ AND*) for f in "$T"/exists/co-data-archive-*; do [[ -f "$f" ]] && printf '%s\t%s\n' "$(basename "$f")" "$(cat "$f")"; done; true ;;
          *sourceDisk*) printf 'co-data-final\nco-data-us-central1-b-20261201030000-abcd\n' ;;
        esac ;;
      update|remove-iam-policy-binding) : ;;
    esac ;;
  "storage rm") rm -f "$T/exists/demo-co-backups" ;;
  *) echo "stand-in gcloud: unexpected $*" >&2; exit 1 ;;
esac
`;

function scene(existing: Record<string, string>, args: string[], today = "2026-12-05") {
  const t = mkdtempSync(join(tmpdir(), "release-"));
  spawnSync("install", ["-d", join(t, "bin"), join(t, "exists")]);
  writeFileSync(join(t, "bin", "gcloud"), fakeGcloud, { mode: 0o755 });
  for (const [n, content] of Object.entries(existing)) writeFileSync(join(t, "exists", n), content);
  const r = spawnSync("bash", [script, ...args], { encoding: "utf8", env: { PATH: `${join(t, "bin")}:/usr/bin:/bin`, T: t, TODAY: today } });
  const calls = existsSync(join(t, "calls.log")) ? readFileSync(join(t, "calls.log"), "utf8").trim().split("\n") : [];
  const left = spawnSync("ls", [join(t, "exists")], { encoding: "utf8" })
    .stdout.trim()
    .split("\n")
    .filter(Boolean);
  rmSync(t, { recursive: true, force: true });
  return { status: r.status, out: r.stdout + r.stderr, calls, left };
}

const everything = { "co-vm": "", "co-data": "", "co-vm-ip": "", "co-data-daily": "", "demo-co-backups": "" };
const base = ["--project", "demo", "--prefix", "co", "--zone", "us-central1-b", "--region", "us-central1"];

describe("scripts/release-retired.sh (stand-in gcloud)", () => {
  it("passes shellcheck", () => {
    const r = spawnSync("shellcheck", ["-S", "style", script], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
  });

  it("refuses to act before the data is confirmed migrated", () => {
    const r = scene(everything, base);
    expect(r.status).toBe(2);
    expect(r.out).toContain("refusing: pass --confirm-migrated");
    expect(r.calls).toEqual([]);
  });

  it("dry run: prints every change and makes none", () => {
    const r = scene(everything, [...base, "--confirm-migrated"]);
    expect(r.status).toBe(0);
    expect(r.left.sort()).toEqual(Object.keys(everything).sort());
    expect(r.calls.filter((c) => / (create|delete|update|remove-iam-policy-binding|rm) /.test(c))).toEqual([]);
    expect(r.out).toContain(
      "+ gcloud compute snapshots create co-data-archive-20261205 --project=demo --source-disk=co-data --source-disk-zone=us-central1-b --snapshot-type=ARCHIVE --storage-location=us-central1 --labels=purpose=final-archive,prefix=co,expires=2027-12-05",
    );
    expect(r.out).toContain("+ gcloud compute disks delete co-data --zone=us-central1-b --project=demo --quiet");
  });

  it("archives once, then releases the VM, disk, snapshots, schedule and IP; the bucket expires with the archive", () => {
    const r = scene(everything, [...base, "--confirm-migrated", "--yes"]);
    expect(r.status, r.out).toBe(0);
    expect(r.left.sort()).toEqual(["co-data-archive-20261205", "demo-co-backups"]);
    const changes = r.calls
      .filter((c) => / (create|delete|update|remove-iam-policy-binding) /.test(c))
      .map((c) => c.replace(/--lifecycle-file=\S+/, "--lifecycle-file=RULES"));
    expect(changes).toEqual([
      "gcloud compute snapshots create co-data-archive-20261205 --project=demo --source-disk=co-data --source-disk-zone=us-central1-b --snapshot-type=ARCHIVE --storage-location=us-central1 --labels=purpose=final-archive,prefix=co,expires=2027-12-05 --description=Final archive of co-data (retired VM data); delete after 2027-12-05: " +
        script +
        " --expire",
      "gcloud storage buckets update gs://demo-co-backups --project=demo --lifecycle-file=RULES --update-labels=purpose=final-archive,expires=2027-12-05",
      "gcloud storage buckets remove-iam-policy-binding gs://demo-co-backups --project=demo --member=serviceAccount:co-vm@demo.iam.gserviceaccount.com --role=roles/storage.objectAdmin",
      "gcloud compute instances update co-vm --zone=us-central1-b --project=demo --no-deletion-protection",
      "gcloud compute instances delete co-vm --zone=us-central1-b --project=demo --keep-disks=data --quiet",
      "gcloud compute disks delete co-data --zone=us-central1-b --project=demo --quiet",
      "gcloud compute snapshots delete co-data-final --project=demo --quiet",
      "gcloud compute snapshots delete co-data-us-central1-b-20261201030000-abcd --project=demo --quiet",
      "gcloud compute resource-policies delete co-data-daily --region=us-central1 --project=demo --quiet",
      "gcloud compute addresses delete co-vm-ip --region=us-central1 --project=demo --quiet",
    ]);
  });

  it("--expire deletes archives and the bucket past their expiry and keeps the others", () => {
    const r = scene({ "co-data-archive-20251201": "2026-12-01", "co-data-archive-20261205": "2027-12-05", "demo-co-backups": "2026-12-01" }, [
      "--project",
      "demo",
      "--prefix",
      "co",
      "--expire",
      "--yes",
    ]);
    expect(r.status, r.out).toBe(0);
    expect(r.left).toEqual(["co-data-archive-20261205"]);
    expect(r.out).toContain("keep co-data-archive-20261205 until 2027-12-05");
    expect(r.calls.filter((c) => / (delete|rm) /.test(c))).toEqual([
      "gcloud compute snapshots delete co-data-archive-20251201 --project=demo --quiet",
      "gcloud storage rm --recursive gs://demo-co-backups --project=demo",
    ]);
  });
});
