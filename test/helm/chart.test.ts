/**
 * The Helm chart (helm/xrouter), rendered with `helm template`: autoscaling, probes, the migration hook, the required
 * database URL, and the metric names the alerts and the Grafana dashboard query. Uses the helm binary that
 * `bash scripts/ci-helm.sh` builds into $XROUTER_HELM_TOOLS/bin (default ~/.cache/xrouter-helm/bin); CI runs that script
 * before the tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

const ROOT = resolve(__dirname, '..', '..');
const CHART = join(ROOT, 'helm/xrouter');
const TOOLS = process.env.XROUTER_HELM_TOOLS ?? join(homedir(), '.cache/xrouter-helm');
const HELM = join(TOOLS, 'bin/helm');
const REQUIRED = join(__dirname, 'values-required.yaml');
const ALL_ON = join(__dirname, 'values-all-on.yaml');

/** Every metric the gateway exports (or will: the usage ones), and the Node.js defaults dashboards may use. */
const ALLOWED_METRICS = new Set([
  'xrouter_http_requests_total',
  'xrouter_http_request_duration_seconds_bucket',
  'xrouter_upstream_requests_total',
  'xrouter_upstream_request_duration_seconds_bucket',
  'xrouter_upstream_time_to_first_token_seconds_bucket',
  'xrouter_circuit_breaker_state',
  'xrouter_circuit_breaker_transitions_total',
  'xrouter_dependency_up',
  'xrouter_routing_retries_total',
  'xrouter_routing_fallbacks_total',
  'xrouter_usage_buffer_rows',
  'xrouter_usage_dropped_rows_total',
  'xrouter_usage_flush_duration_seconds_bucket',
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'nodejs_eventloop_lag_p99_seconds',
]);
const METRIC_NAME = /\b(?:xrouter_[a-z_]+|process_[a-z_]+|nodejs_[a-z0-9_]+)\b/g;

interface K8sObject<Spec = unknown> {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: Spec;
  data?: Record<string, string>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}
interface Probe {
  httpGet: { path: string; port: string | number };
  periodSeconds: number;
  failureThreshold: number;
}
interface Container {
  command?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  env: EnvVar[];
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
  lifecycle?: unknown;
  securityContext: Record<string, unknown>;
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface Workload {
  replicas?: number;
  template: {
    metadata: { annotations: Record<string, string> };
    spec: { containers: Container[]; securityContext: { runAsUser: number }; terminationGracePeriodSeconds: number };
  };
}
interface Hpa {
  scaleTargetRef: unknown;
  metrics: unknown;
  minReplicas: number;
  maxReplicas: number;
  behavior: { scaleDown: { stabilizationWindowSeconds: number } };
}
interface Rules {
  groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
}

function helmTemplate(args: string[]): string {
  return execFileSync(HELM, ['template', 'xrouter', CHART, '--namespace', 'xrouter', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function render(...args: string[]): K8sObject[] {
  return parseAllDocuments(helmTemplate(args))
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function find<Spec = unknown>(objects: K8sObject[], kind: string, name?: string): K8sObject<Spec> {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} in ${objects.map((o) => o.kind).join(', ')}`);
  return found as K8sObject<Spec>;
}

const deployment = (objects: K8sObject[]) => find<Workload>(objects, 'Deployment').spec;
const alertsOf = (objects: K8sObject[]) => find<Rules>(objects, 'PrometheusRule').spec.groups.flatMap((g) => g.rules);

function envVar(container: Container, name: string): EnvVar {
  const found = container.env.find((e) => e.name === name);
  if (!found) throw new Error(`no env ${name} in ${container.env.map((e) => e.name).join(', ')}`);
  return found;
}

function metricNames(text: string): string[] {
  return [...new Set(text.match(METRIC_NAME) ?? [])];
}

describe('helm chart helm/xrouter', () => {
  beforeAll(() => {
    if (!existsSync(HELM)) {
      throw new Error(`helm is not installed at ${HELM}: run \`bash scripts/ci-helm.sh\` first (it builds helm there)`);
    }
  });

  describe('with the required values only', () => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = render('-f', REQUIRED);
    });

    it('scales with an autoscaling/v2 HPA on CPU at 70% by default, within min/max from values', () => {
      const hpa = find<Hpa>(objects, 'HorizontalPodAutoscaler');
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'xrouter' });
      expect(hpa.spec.metrics).toEqual([
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      ]);
      expect(hpa.spec.minReplicas).toBe(2);
      expect(hpa.spec.maxReplicas).toBe(10);
      expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
      // The HPA owns the replica count.
      expect(deployment(objects).replicas).toBeUndefined();

      const custom = render(
        '-f',
        REQUIRED,
        '--set',
        'autoscaling.minReplicas=4',
        '--set',
        'autoscaling.maxReplicas=20',
      );
      const customHpa = find<Hpa>(custom, 'HorizontalPodAutoscaler');
      expect([customHpa.spec.minReplicas, customHpa.spec.maxReplicas]).toEqual([4, 20]);
    });

    it('probes /health/live and /health/ready on the container port', () => {
      const pod = deployment(objects).template.spec;
      const [container] = pod.containers;
      const port = container.ports?.find((p) => p.name === 'http');
      expect(port?.containerPort).toBe(8080);
      expect(container.env).toContainEqual({ name: 'PORT', value: '8080' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(container.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.startupProbe.failureThreshold * container.startupProbe.periodSeconds).toBeGreaterThanOrEqual(
        120,
      );
    });

    it('drains gracefully as a non-root pod on a read-only root filesystem', () => {
      const pod = deployment(objects).template.spec;
      const [container] = pod.containers;
      // The gateway keeps accepting connections while the pod leaves the endpoints (no preStop sleep, during which
      // it could not tell keep-alive clients to leave), then lets streams finish.
      const delayMs = Number(envVar(container, 'SHUTDOWN_DELAY_MS').value);
      const graceMs = Number(envVar(container, 'SHUTDOWN_GRACE_MS').value);
      expect([delayMs, graceMs]).toEqual([10_000, 300_000]);
      expect(container.lifecycle).toBeUndefined();
      expect(pod.terminationGracePeriodSeconds).toBe(330);
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(delayMs + graceMs);
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
      expect(pod.securityContext.runAsUser).toBe(1000);
      const mounts = container.volumeMounts.map((m: { mountPath: string }) => m.mountPath);
      expect(mounts).toEqual(expect.arrayContaining(['/tmp', '/app/data']));
    });

    it('reads the database and Redis URLs from the chart Secret', () => {
      const secret = find(objects, 'Secret', 'xrouter');
      expect(Buffer.from(secret.data!.DATABASE_URL, 'base64').toString()).toMatch(/^postgres:\/\//);
      const env = deployment(objects).template.spec.containers[0].env;
      expect(env).toContainEqual({
        name: 'DATABASE_URL',
        valueFrom: { secretKeyRef: { name: 'xrouter', key: 'DATABASE_URL' } },
      });
      expect(env).toContainEqual({
        name: 'REDIS_URL',
        valueFrom: { secretKeyRef: { name: 'xrouter', key: 'REDIS_URL' } },
      });
    });

    it('passes the HTTP timeouts that cut slow and idle clients', () => {
      const container = deployment(objects).template.spec.containers[0];
      expect(envVar(container, 'HTTP_HEADERS_TIMEOUT_MS').value).toBe('10000');
      expect(envVar(container, 'HTTP_REQUEST_TIMEOUT_MS').value).toBe('30000');
      expect(envVar(container, 'HTTP_KEEP_ALIVE_TIMEOUT_MS').value).toBe('5000');
    });

    it('trusts no proxy unless gateway.trustProxy names one', () => {
      const names = deployment(objects).template.spec.containers[0].env.map((e) => e.name);
      expect(names).not.toContain('TRUST_PROXY');
      const behindIngress = render('-f', REQUIRED, '--set', 'gateway.trustProxy=1');
      expect(envVar(deployment(behindIngress).template.spec.containers[0], 'TRUST_PROXY')).toEqual({
        name: 'TRUST_PROXY',
        value: '1',
      });
    });

    it('sets OAUTH_ISSUER only when gateway.oauthIssuer names the public URL', () => {
      const names = deployment(objects).template.spec.containers[0].env.map((e) => e.name);
      expect(names).not.toContain('OAUTH_ISSUER');
      const rendered = render('-f', REQUIRED, '--set', 'gateway.oauthIssuer=https://xrouter.example.com');
      expect(envVar(deployment(rendered).template.spec.containers[0], 'OAUTH_ISSUER')).toEqual({
        name: 'OAUTH_ISSUER',
        value: 'https://xrouter.example.com',
      });
    });

    it('runs the migrations in a pre-install,pre-upgrade hook Job', () => {
      const job = find<Workload>(objects, 'Job');
      expect(job.apiVersion).toBe('batch/v1');
      expect(job.metadata.annotations).toMatchObject({
        'helm.sh/hook': 'pre-install,pre-upgrade',
        'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
      });
      const [container] = job.spec.template.spec.containers;
      expect(container.command).toEqual(['node', 'dist/libs/database/src/migrate.js']);
      // The chart's Secret does not exist yet at pre-install: the Job's URL comes from a hook Secret created before it.
      const ref = envVar(container, 'DATABASE_URL').valueFrom!.secretKeyRef;
      const hookSecret = find(objects, 'Secret', ref.name);
      expect(hookSecret.metadata.annotations!['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      expect(Number(hookSecret.metadata.annotations!['helm.sh/hook-weight'])).toBeLessThan(
        Number(job.metadata.annotations!['helm.sh/hook-weight']),
      );
      expect(hookSecret.data![ref.key]).toBe(find(objects, 'Secret', 'xrouter').data!.DATABASE_URL);
    });
  });

  it('fails the render without a database URL, and without Redis when it scales out', () => {
    expect(() => helmTemplate([])).toThrow(/set postgresql\.url or postgresql\.existingSecret/);
    expect(() => helmTemplate(['--set', 'postgresql.url=postgres://db/x'])).toThrow(
      /Redis is required when more than one replica can run/,
    );
    const single = render(
      '--set',
      'postgresql.url=postgres://db/x',
      '--set',
      'autoscaling.enabled=false',
      '--set',
      'replicaCount=1',
    );
    expect(deployment(single).replicas).toBe(1);
    expect(single.map((o) => o.kind)).not.toContain('HorizontalPodAutoscaler');
    // A budget on a single pod would block node drains.
    expect(single.map((o) => o.kind)).not.toContain('PodDisruptionBudget');
  });

  it('fails the render when terminationGracePeriodSeconds does not cover the shutdown delay and grace', () => {
    expect(() => helmTemplate(['-f', REQUIRED, '--set', 'shutdown.delayMs=30001'])).toThrow(
      /must exceed shutdown\.delayMs \+ shutdown\.graceMs \(330001 ms\)/,
    );
    expect(() => helmTemplate(['-f', REQUIRED, '--set', 'shutdown.delayMs=29999'])).not.toThrow();
    // The preStop sleep it replaces is refused by name rather than ignored.
    expect(() => helmTemplate(['-f', REQUIRED, '--set', 'shutdown.preStopSleepSeconds=10'])).toThrow(
      /preStopSleepSeconds/,
    );
  });

  it('rejects values the schema does not allow', () => {
    expect(() => helmTemplate(['-f', REQUIRED, '--set', 'gateway.logLevel=loud'])).toThrow(/logLevel/);
    expect(() => helmTemplate(['-f', REQUIRED, '--set', 'unknownValue=1'])).toThrow(/unknownValue/);
  });

  describe('with every optional feature on', () => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = render('-f', ALL_ON);
    });

    it('renders every optional object', () => {
      const kinds = objects.map((o) => o.kind).sort();
      expect(kinds).toEqual(
        expect.arrayContaining([
          'ConfigMap',
          'Deployment',
          'HorizontalPodAutoscaler',
          'Ingress',
          'Job',
          'NetworkPolicy',
          'PodDisruptionBudget',
          'PrometheusRule',
          'Secret',
          'Service',
          'ServiceAccount',
          'ServiceMonitor',
        ]),
      );
    });

    it('mounts the routing config from a ConfigMap and rolls the pods when it changes', () => {
      const configMap = find(objects, 'ConfigMap', 'xrouter-config');
      expect(configMap.data!['xrouter.yaml']).toContain('mws-gpt-alpha');
      const pod = deployment(objects).template;
      expect(pod.spec.containers[0].volumeMounts).toContainEqual({
        name: 'routing-config',
        mountPath: '/app/config/xrouter.yaml',
        subPath: 'xrouter.yaml',
        readOnly: true,
      });
      const changed = render('-f', ALL_ON, '--set', 'routingConfig=models: []');
      const checksum = (objs: K8sObject[]) => deployment(objs).template.metadata.annotations['checksum/config'];
      expect(checksum(changed)).not.toBe(checksum(objects));
    });

    it('ships a Grafana dashboard and alerts that query only metrics the gateway exports', () => {
      const dashboard = find(objects, 'ConfigMap', 'xrouter-dashboard');
      expect(dashboard.metadata.labels!.grafana_dashboard).toBe('1');
      const json = dashboard.data!['xrouter.json'];
      expect(json).toBe(readFileSync(join(CHART, 'dashboards/xrouter.json'), 'utf8').trimEnd());
      const exprs = (JSON.parse(json) as { panels: Array<{ targets?: Array<{ expr: string }> }> }).panels
        .flatMap((p) => p.targets ?? [])
        .map((t) => t.expr)
        .join('\n');

      const alerts = alertsOf(objects);
      expect(alerts.map((a) => a.alert)).toEqual(
        expect.arrayContaining([
          'XRouterHighErrorRate',
          'XRouterHighLatencyP95',
          'XRouterCircuitBreakerOpen',
          'XRouterDependencyDown',
          'XRouterUsageRowsDropped',
        ]),
      );
      const ruleExprs = alerts.map((a) => a.expr).join('\n');

      for (const [where, text] of [
        ['dashboard', json],
        ['PrometheusRule', ruleExprs],
      ]) {
        const unknown = metricNames(text).filter((name) => !ALLOWED_METRICS.has(name));
        expect({ where, unknown }).toEqual({ where, unknown: [] });
      }
      expect(metricNames(exprs)).toEqual(
        expect.arrayContaining([
          'xrouter_usage_buffer_rows',
          'xrouter_usage_dropped_rows_total',
          'xrouter_usage_flush_duration_seconds_bucket',
        ]),
      );
      expect(ruleExprs).toContain('xrouter_usage_dropped_rows_total');
      expect(ruleExprs).toMatch(/xrouter_circuit_breaker_state\{[^}]*\}\) == 2/);
    });

    it('takes alert thresholds from values', () => {
      const withThresholds = render(
        '-f',
        ALL_ON,
        // --set would pass 0.1 as a string, which the schema rejects; --set-json (or -f) passes numbers.
        '--set-json',
        'metrics.prometheusRule.rules.errorRate.threshold=0.1',
        '--set-json',
        'metrics.prometheusRule.rules.latencyP95.thresholdSeconds=45',
      );
      const alerts = alertsOf(withThresholds);
      const expr = (name: string) => alerts.find((a) => a.alert === name)!.expr.trim();
      expect(expr('XRouterHighErrorRate')).toMatch(/> 0\.1$/);
      expect(expr('XRouterHighLatencyP95')).toMatch(/> 45$/);
    });

    it('reads credentials from existing Secrets where named', () => {
      const env = deployment(objects).template.spec.containers[0].env;
      expect(env).toContainEqual({
        name: 'DATABASE_URL',
        valueFrom: { secretKeyRef: { name: 'xrouter-database', key: 'url' } },
      });
      expect(env).toContainEqual({
        name: 'GIGACHAT_AUTH_KEY',
        valueFrom: { secretKeyRef: { name: 'gigachat-credentials', key: 'auth-key' } },
      });
      const secret = find(objects, 'Secret', 'xrouter');
      expect(Object.keys(secret.data!)).not.toContain('DATABASE_URL');
      // With an existing database Secret the migration Job reads it directly: no hook Secret.
      const job = find<Workload>(objects, 'Job');
      expect(job.spec.template.spec.containers[0].env).toContainEqual({
        name: 'DATABASE_URL',
        valueFrom: { secretKeyRef: { name: 'xrouter-database', key: 'url' } },
      });
      expect(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual(['xrouter']);
    });
  });
});
