/**
 * Files that machines and clusters receive. Components register each file's content (the very Input they pass
 * to the resource) under a machine role; `npm run render` resolves and writes them, one folder per role, so
 * every file can be checked by the tool that consumes it.
 */
import * as pulumi from "@pulumi/pulumi";

export interface RenderedFile {
  /** Machine or cluster role, the folder the file goes to (e.g. "vm", "http-pool", "gke-us-central1"). */
  role: string;
  /** Path inside the role's folder (e.g. "nginx/nginx.conf"). */
  path: string;
  content: pulumi.Input<string>;
}

const files: RenderedFile[] = [];

/** Record a file a machine or cluster receives. Returns the content unchanged, to pass on to the resource. */
export function renderFile<T extends pulumi.Input<string>>(role: string, path: string, content: T): T {
  files.push({ role, path, content });
  return content;
}

/** The files registered since the last call (and forget them). */
export function takeRenderedFiles(): RenderedFile[] {
  return files.splice(0, files.length);
}
