// Validates Kubernetes objects (the Helm chart rendered by HelmChartTest) against the API's JSON
// schemas, as shipped in the kubernetes-models packages: types, required fields, formats
// (quantities, int-or-string) and, for the Prometheus Operator's CRDs, their patterns (durations).
// HelmChartTest covers the other half: unknown or misplaced fields (fabric8's models, read
// strictly). Run by .ci/checks.d/35-helm-schema: node helm_schema_check.mjs FILE.yaml...
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import * as core from "kubernetes-models/v1";
import * as apps from "kubernetes-models/apps/v1";
import * as batch from "kubernetes-models/batch/v1";
import * as policy from "kubernetes-models/policy/v1";
import * as networking from "kubernetes-models/networking.k8s.io/v1";
import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import * as monitoringAlpha from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1";

const groups = {
  v1: core,
  "apps/v1": apps,
  "batch/v1": batch,
  "policy/v1": policy,
  "networking.k8s.io/v1": networking,
  "monitoring.coreos.com/v1": monitoring,
  "monitoring.coreos.com/v1alpha1": monitoringAlpha,
};

/** The validation errors of one object, or a reason it could not be checked at all. */
function problems(object) {
  const model = groups[object.apiVersion]?.[object.kind];
  if (!model) {
    return [`no schema here for ${object.apiVersion} ${object.kind}`];
  }
  try {
    new model(object).validate();
    return [];
  } catch (e) {
    return [e.message];
  }
}

// The validator must catch what it is here for (else a package change could make it pass all).
const selfTest = [
  { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" },
    spec: { replicas: "5", selector: {}, template: { spec: { containers: [{ name: "x" }] } } } },
  { apiVersion: "v1", kind: "Pod", metadata: { name: "x" }, spec: { containers: [{ image: "y" }] } },
  { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: "x" },
    spec: { selector: {}, endpoints: [{ port: "http", interval: "5 seconds" }] } },
];
for (const bad of selfTest) {
  if (problems(bad).length === 0) {
    console.error(`self-test: an invalid ${bad.kind} passed; the schema check is broken`);
    process.exit(2);
  }
}

let checked = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const document of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (document.errors.length > 0) {
      console.error(`${file}: ${document.errors.join("; ")}`);
      failed++;
      continue;
    }
    const object = document.toJS();
    if (object == null) {
      continue;
    }
    const found = problems(object);
    checked++;
    if (found.length > 0) {
      failed++;
      console.error(`${file}: ${object.kind} ${object.metadata?.name}: ${found.join("; ")}`);
    }
  }
}
console.log(`helm schema: ${checked} objects checked, ${failed} invalid`);
if (checked === 0 || failed > 0) {
  process.exit(1);
}
