{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "xrouter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name when it already contains the chart name. */}}
{{- define "xrouter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "xrouter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "xrouter.labels" -}}
helm.sh/chart: {{ include "xrouter.chart" . }}
{{ include "xrouter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: xrouter
{{- end }}

{{- define "xrouter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "xrouter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The gateway pods (the migration Job's pods carry component=migration and are never selected). */}}
{{- define "xrouter.gatewaySelectorLabels" -}}
{{ include "xrouter.selectorLabels" . }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "xrouter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "xrouter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "xrouter.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* More than one gateway pod can run: Redis is then required, and a PodDisruptionBudget makes sense. */}}
{{- define "xrouter.multiReplica" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/*
Every credential the gateway reads from a Secret, as env name -> {value, existingSecret, existingSecretKey}, in
YAML (read back with fromYaml). An item with existingSecret comes from that Secret; one with only a value comes from
the chart's Secret under the env name; an empty one is not set.
*/}}
{{- define "xrouter.secretItems" -}}
{{- $pg := .Values.postgresql -}}
{{- $p := .Values.providers -}}
ADMIN_API_KEY: {{ toJson .Values.adminApiKey }}
DATABASE_URL: {{ toJson (dict "value" $pg.url "existingSecret" $pg.existingSecret "existingSecretKey" $pg.existingSecretKey) }}
DATABASE_READ_URL: {{ toJson (dict "value" $pg.readUrl "existingSecret" (ternary $pg.existingSecret "" (ne $pg.existingSecretReadKey "")) "existingSecretKey" $pg.existingSecretReadKey) }}
REDIS_URL: {{ toJson (dict "value" .Values.redis.url "existingSecret" .Values.redis.existingSecret "existingSecretKey" .Values.redis.existingSecretKey) }}
GIGACHAT_AUTH_KEY: {{ toJson $p.gigachat.authKey }}
GIGACHAT_SCOPE: {{ toJson $p.gigachat.scope }}
YANDEX_API_KEY: {{ toJson $p.yandex.apiKey }}
YANDEX_FOLDER_ID: {{ toJson $p.yandex.folderId }}
YANDEX_SA_KEY: {{ toJson $p.yandex.serviceAccountKey }}
MTS_API_KEY: {{ toJson $p.mts.apiKey }}
MTS_PROJECT_ID: {{ toJson $p.mts.projectId }}
TBANK_API_KEY: {{ toJson $p.tbank.apiKey }}
TBANK_KEY_ID: {{ toJson $p.tbank.keyId }}
TBANK_KEY_SECRET: {{ toJson $p.tbank.keySecret }}
TBANK_PROJECT_ID: {{ toJson $p.tbank.projectId }}
TBANK_BASE_URL: {{ toJson $p.tbank.baseUrl }}
{{- end }}

{{/* The chart's own Secret data: items with a value and no existingSecret. Empty when there is none. */}}
{{- define "xrouter.secretData" -}}
{{- range $name, $item := include "xrouter.secretItems" . | fromYaml }}
{{- if and $item.value (not $item.existingSecret) }}
{{ $name }}: {{ $item.value | toString | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
env entries for the named credentials. Call with (dict "root" $ "names" (list "DATABASE_URL" ...)); an empty names
list means every credential. secretName overrides the chart's Secret name (the migration hook has its own).
*/}}
{{- define "xrouter.secretEnv" -}}
{{- $root := .root -}}
{{- $items := include "xrouter.secretItems" $root | fromYaml -}}
{{- $secretName := .secretName | default (include "xrouter.fullname" $root) -}}
{{- $names := .names | default (keys $items | sortAlpha) -}}
{{- range $name := $names }}
{{- $item := get $items $name }}
{{- if $item.existingSecret }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $item.existingSecret | quote }}
      key: {{ $item.existingSecretKey | default $name | quote }}
{{- else if $item.value }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secretName | quote }}
      key: {{ $name | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Fails the render with a clear message when a required value is missing or values contradict each other. */}}
{{- define "xrouter.validate" -}}
{{- if not (or .Values.postgresql.url .Values.postgresql.existingSecret) }}
{{- fail "xrouter: PostgreSQL is required on Kubernetes (the embedded database is for a single local process): set postgresql.url or postgresql.existingSecret" }}
{{- end }}
{{- if and (include "xrouter.multiReplica" .) (not (or .Values.redis.url .Values.redis.existingSecret)) }}
{{- fail "xrouter: Redis is required when more than one replica can run (replicaCount > 1 or autoscaling.enabled): set redis.url or redis.existingSecret" }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) }}
{{- fail "xrouter: autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- end }}
{{- $drainMs := add (int .Values.shutdown.delayMs) (int .Values.shutdown.graceMs) }}
{{- if le (mul (int .Values.terminationGracePeriodSeconds) 1000) $drainMs }}
{{- fail (printf "xrouter: terminationGracePeriodSeconds (%d s) must exceed shutdown.delayMs + shutdown.graceMs (%d ms), or streams are killed mid-drain" (int .Values.terminationGracePeriodSeconds) $drainMs) }}
{{- end }}
{{- if .Values.routingConfig }}
{{- $parsed := fromYaml .Values.routingConfig }}
{{- if hasKey $parsed "Error" }}
{{- fail (printf "xrouter: routingConfig is not valid YAML: %s" (get $parsed "Error")) }}
{{- end }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (ne (toString .Values.podDisruptionBudget.minAvailable) "") (ne (toString .Values.podDisruptionBudget.maxUnavailable) "") }}
{{- fail "xrouter: set only one of podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable" }}
{{- end }}
{{- end }}

{{/* Pod-level volumes shared by the gateway and the migration Job: a read-only root needs a writable /tmp. */}}
{{- define "xrouter.tmpVolume" -}}
- name: tmp
  emptyDir: {}
{{- end }}
