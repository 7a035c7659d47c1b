#!/usr/bin/env bash
# CI for the Helm chart (helm/xrouter): builds helm and kubeconform from the Go module proxy (once; cached), builds
# offline JSON schemas for every Kubernetes kind plus the prometheus-operator CRDs (once; cached), then lints the chart,
# renders it with the required values and with every optional feature on, and validates every rendered object.
# Needs Go (>= 1.24), Node.js and the repository's node_modules (the `yaml` package). No network but the Go module proxy.
# test/helm/chart.test.ts runs the helm binary this script leaves in $XROUTER_HELM_TOOLS/bin: run it before npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
# The Kubernetes release whose OpenAPI document (k8s.io/kubernetes module: api/openapi-spec/swagger.json) the
# objects are validated against, and the prometheus-operator release whose CRDs give ServiceMonitor and PrometheusRule.
K8S_VERSION=1.37.2
PROM_OPERATOR_VERSION=v0.85.0

TOOLS=${XROUTER_HELM_TOOLS:-$HOME/.cache/xrouter-helm}
BIN=$TOOLS/bin
SCHEMAS=$TOOLS/schemas/k8s-v$K8S_VERSION-prometheus-operator-$PROM_OPERATOR_VERSION
CHART=$ROOT/helm/xrouter
mkdir -p "$BIN"

step() { printf '\n--- helm chart: %s (%ss)\n' "$1" "$SECONDS"; }

WORK=$(mktemp -d /tmp/xrouter-helm.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

step "tools: helm $HELM_VERSION, kubeconform $KUBECONFORM_VERSION in $BIN"
command -v go >/dev/null || { echo "Go is required to build helm and kubeconform (go install)" >&2; exit 1; }
# The same -X flags as helm's release Makefile: real version, and Kubernetes 1.37 (helm 3.22's client libraries) as
# the default cluster version instead of the 1.20 a plain `go install` leaves.
HELM_LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
HELM_LDFLAGS+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37"
HELM_LDFLAGS+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37"
if [ "$("$BIN/helm" version --template '{{.Version}}' 2>/dev/null || true)" != "$HELM_VERSION" ]; then
  started=$SECONDS
  (cd "$WORK" && GOBIN=$BIN GOFLAGS=-buildvcs=false go install -trimpath -ldflags "$HELM_LDFLAGS" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
  echo "built helm in $((SECONDS - started)) s"
fi
if [ "$("$BIN/kubeconform" -v 2>/dev/null || true)" != "$KUBECONFORM_VERSION" ]; then
  started=$SECONDS
  (cd "$WORK" && GOBIN=$BIN GOFLAGS=-buildvcs=false go install -trimpath \
    -ldflags "-s -w -X main.version=$KUBECONFORM_VERSION" "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION")
  echo "built kubeconform in $((SECONDS - started)) s"
fi
HELM=$BIN/helm
KUBECONFORM=$BIN/kubeconform
"$HELM" version --short
echo "kubeconform $("$KUBECONFORM" -v)"

step "offline schemas: Kubernetes $K8S_VERSION, prometheus-operator $PROM_OPERATOR_VERSION"
if [ ! -f "$SCHEMAS/.complete" ]; then
  [ -d "$ROOT/node_modules/yaml" ] || { echo "node_modules/yaml is missing: run npm install first" >&2; exit 1; }
  # `go mod download` fetches a module's source from the Go module proxy into the module cache and prints its Dir.
  mod_dir() { (cd "$WORK" && go mod download -json "$1") | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s);if(m.Error){console.error(m.Error);process.exit(1)}console.log(m.Dir)})'; }
  K8S_DIR=$(mod_dir "k8s.io/kubernetes@v$K8S_VERSION")
  PO_DIR=$(mod_dir "github.com/prometheus-operator/prometheus-operator@$PROM_OPERATOR_VERSION")
  rm -rf "$SCHEMAS" && mkdir -p "$SCHEMAS"
  # Standalone strict JSON schemas in kubeconform's file layout ({kind}-{group}-{version}.json, lower case), like
  # openapi2jsonschema makes them: references kept as local definitions, additionalProperties false on every object
  # that lists its properties, int-or-string and quantities accepted as numbers too, apiVersion and kind pinned.
  NODE_PATH=$ROOT/node_modules node - "$K8S_DIR/api/openapi-spec/swagger.json" "$PO_DIR/example/prometheus-operator-crd" "$SCHEMAS" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const [swaggerFile, crdDir, out] = process.argv.slice(2);

const INT_OR_STRING = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
const QUANTITY = { oneOf: [{ type: 'string' }, { type: 'number' }] };
const fileName = (kind, apiVersion) => {
  const [groupOrVersion, version] = apiVersion.split('/');
  const suffix = '-' + groupOrVersion.split('.')[0].toLowerCase() + (version ? '-' + version.toLowerCase() : '');
  return kind.toLowerCase() + suffix + '.json';
};
/** Strict copy of a schema node: closes objects, widens int-or-string, rewrites refs to local definitions. */
function strict(node, refs) {
  if (Array.isArray(node)) return node.map((n) => strict(n, refs));
  if (!node || typeof node !== 'object') return node;
  if (node.format === 'int-or-string' || node['x-kubernetes-int-or-string'] === true) return { ...INT_OR_STRING };
  const copy = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref') {
      const name = value.replace('#/definitions/', '');
      refs.add(name);
      copy.$ref = '#/definitions/' + name;
    } else if (key === 'properties' || key === 'patternProperties' || key === 'definitions') {
      copy[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strict(v, refs)]));
    } else copy[key] = strict(value, refs);
  }
  if (copy.properties && copy.additionalProperties === undefined && !copy['x-kubernetes-preserve-unknown-fields']) {
    copy.additionalProperties = false;
  }
  return copy;
}
function pin(schema, kind, apiVersion) {
  schema.properties = { ...schema.properties };
  schema.properties.kind = { type: 'string', enum: [kind] };
  schema.properties.apiVersion = { type: 'string', enum: [apiVersion] };
  return schema;
}

let written = 0;
const defs = JSON.parse(fs.readFileSync(swaggerFile, 'utf8')).definitions;
const definition = (name) => {
  if (name === 'io.k8s.apimachinery.pkg.util.intstr.IntOrString') return { ...INT_OR_STRING };
  if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') return { ...QUANTITY };
  return defs[name];
};
for (const [name, def] of Object.entries(defs)) {
  for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
    const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
    if (!def.properties?.kind) continue;
    const refs = new Set();
    const schema = pin(strict(definition(name), refs), gvk.kind, apiVersion);
    const definitions = {};
    for (const pending = [...refs]; pending.length; ) {
      const ref = pending.pop();
      if (definitions[ref]) continue;
      const more = new Set();
      definitions[ref] = strict(definition(ref), more);
      for (const r of more) if (!definitions[r]) pending.push(r);
    }
    schema.definitions = definitions;
    fs.writeFileSync(path.join(out, fileName(gvk.kind, apiVersion)), JSON.stringify(schema));
    written++;
  }
}
for (const file of fs.readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
  const crd = YAML.parse(fs.readFileSync(path.join(crdDir, file), 'utf8'));
  for (const version of crd.spec.versions) {
    const apiVersion = `${crd.spec.group}/${version.name}`;
    const schema = pin(strict(version.schema.openAPIV3Schema, new Set()), crd.spec.names.kind, apiVersion);
    fs.writeFileSync(path.join(out, fileName(crd.spec.names.kind, apiVersion)), JSON.stringify(schema));
    written++;
  }
}
for (const must of ['deployment-apps-v1', 'horizontalpodautoscaler-autoscaling-v2', 'servicemonitor-monitoring-v1', 'prometheusrule-monitoring-v1']) {
  if (!fs.existsSync(path.join(out, must + '.json'))) throw new Error(`schema ${must}.json was not generated`);
}
console.log(`wrote ${written} schemas to ${out}`);
EOF
  touch "$SCHEMAS/.complete"
else
  echo "cached in $SCHEMAS"
fi
validate() {
  "$KUBECONFORM" -strict -summary -schema-location "$SCHEMAS/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$@"
}

step "schemas reject a bad object (self-check)"
cat >"$WORK/bad.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: { name: bad }
spec:
  selector: { matchLabels: { app: bad } }
  template:
    metadata: { labels: { app: bad } }
    spec:
      containers:
        - name: bad
          image: bad
          livenessProbe: { httpGet: { path: /health/live, port: http }, periodSecond: 10 }
EOF
if validate "$WORK/bad.yaml" >"$WORK/bad.out" 2>&1; then
  cat "$WORK/bad.out"
  echo "kubeconform accepted a Deployment with an unknown field: the schemas are not strict" >&2
  exit 1
fi
grep -q "periodSecond" "$WORK/bad.out" || { cat "$WORK/bad.out"; echo "unexpected kubeconform failure" >&2; exit 1; }
echo "rejected as expected: $(grep -o "additional properties 'periodSecond' not allowed" "$WORK/bad.out" | head -n 1)"

step "helm lint --strict"
# Default values alone: lint reports the missing database URL as INFO (the render itself fails, by design).
"$HELM" lint --strict "$CHART"
"$HELM" lint --strict "$CHART" -f test/helm/values-required.yaml
"$HELM" lint --strict "$CHART" -f test/helm/values-all-on.yaml

step "helm template and validate every object"
for values in values-required values-all-on; do
  "$HELM" template xrouter "$CHART" --namespace xrouter -f "test/helm/$values.yaml" >"$WORK/$values.yaml"
  echo "$values: $(grep -c '^kind:' "$WORK/$values.yaml") objects"
  validate "$WORK/$values.yaml"
done
# A single replica without autoscaling needs no Redis, and renders no PodDisruptionBudget.
"$HELM" template xrouter "$CHART" --namespace xrouter --set postgresql.url=postgres://xrouter@db/xrouter \
  --set autoscaling.enabled=false --set replicaCount=1 >"$WORK/single.yaml"
echo "single replica: $(grep -c '^kind:' "$WORK/single.yaml") objects"
validate "$WORK/single.yaml"
if "$HELM" template xrouter "$CHART" >"$WORK/none.yaml" 2>"$WORK/none.err"; then
  echo "the chart rendered without a database URL" >&2
  exit 1
fi
echo "without a database URL: $(grep -o 'PostgreSQL is required[^:]*' "$WORK/none.err" | head -n 1)"

step "done"
