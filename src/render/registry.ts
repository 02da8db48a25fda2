/**
 * Files that machines and clusters receive. Components expose the files they render (the very Input they pass to
 * the resource) in a public `files` field, under a machine role; the stack gathers them and `npm run render`
 * resolves and writes them, one folder per role, so every file can be checked by the tool that consumes it.
 */
import type * as pulumi from "@pulumi/pulumi";

export interface RenderedFile {
  /** Machine or cluster role, the folder the file goes to (e.g. "vm", "http-pool", "gke-us-central1"). */
  role: string;
  /** Path inside the role's folder (e.g. "nginx/nginx.conf"). */
  path: string;
  content: pulumi.Input<string>;
}

/**
 * A recorder that appends to a component's `files`: `record(role, path, content)` returns the content unchanged,
 * to pass on to the resource.
 */
export function fileRecorder(files: RenderedFile[]) {
  return <T extends pulumi.Input<string>>(role: string, path: string, content: T): T => {
    files.push({ role, path, content });
    return content;
  };
}
