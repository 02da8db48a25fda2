// Pulumi's Node.js runtime calls an exported function and uses its result as the stack's outputs.
import { main } from "./program";

export = main;
