/**
 * The bootstrap project's entry: `pulumi up` in this folder (docs/deploy.md). Pulumi calls the exported
 * function and takes its result as the stack outputs.
 */
import { bootstrap } from "./program";

export = bootstrap;
