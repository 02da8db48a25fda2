/**
 * The policy pack as the Pulumi CLI loads it: `pulumi preview --policy-pack policy` (from the project folder).
 * The rules are in ./policies.ts (a plain array, tested offline against every stage's plan).
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("course-organizer", {
  policies,
  description: "Course Organizer on Google Cloud: CIS GCP Foundations rules and the product's data, secret and label promises",
  enforcementLevel: "mandatory",
});
