{{/* Chart name, overridable. */}}
{{- define "tierguard.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name (DNS label, at most 63 characters). A release named like the chart
is not repeated ("tierguard" rather than "tierguard-tierguard").
*/}}
{{- define "tierguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if eq .Release.Name (include "tierguard.name" .) }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "tierguard.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "tierguard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "tierguard.labels" -}}
helm.sh/chart: {{ include "tierguard.chart" . }}
{{ include "tierguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tierguard
{{- end }}

{{/* Selector labels: stable across upgrades, never add to them. */}}
{{- define "tierguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tierguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tierguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "tierguard.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* Image reference: repository@digest when a digest is set, else repository:tag. */}}
{{- define "tierguard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the tokens (the chart's, or existingSecret.name). */}}
{{- define "tierguard.secretName" -}}
{{- .Values.existingSecret.name | default (include "tierguard.fullname" .) }}
{{- end }}

{{/*
"true" when the pods get REDIS_URL, else "": from redis.url (kept in the chart's Secret, also
next to an existingSecret), or from existingSecret.redisUrlKey.
*/}}
{{- define "tierguard.redisEnabled" -}}
{{- if or .Values.redis.url (and .Values.existingSecret.name .Values.existingSecret.redisUrlKey) }}true{{ end }}
{{- end }}

{{/* "true" when the chart creates its own Secret: tokens from values, or redis.url. */}}
{{- define "tierguard.ownSecret" -}}
{{- if or (not .Values.existingSecret.name) .Values.redis.url }}true{{ end }}
{{- end }}

{{/*
TCP port the NetworkPolicy opens for Redis: the port of redis.url (6379 when it names none);
networkPolicy.redis.port when the URL sits in an existing Secret the chart cannot read.
*/}}
{{- define "tierguard.redisPort" -}}
{{- if .Values.redis.url }}
{{- regexFind ":[0-9]+$" (urlParse .Values.redis.url).host | trimPrefix ":" | default "6379" }}
{{- else }}
{{- .Values.networkPolicy.redis.port }}
{{- end }}
{{- end }}

{{/*
Fails the render on contradictory settings, and when several replicas could run without
Redis: each replica would coalesce merge-request events on its own and the same MR could be
reviewed twice.
*/}}
{{- define "tierguard.checkValues" -}}
{{- if and .Values.existingSecret.redisUrlKey (not .Values.existingSecret.name) }}
{{- fail "existingSecret.redisUrlKey needs existingSecret.name (or set redis.url)" }}
{{- end }}
{{- if and .Values.redis.url .Values.existingSecret.name .Values.existingSecret.redisUrlKey }}
{{- fail "set either redis.url or existingSecret.redisUrlKey, not both" }}
{{- end }}
{{- if not (include "tierguard.redisEnabled" .) }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail "replicaCount > 1 needs Redis: set redis.url or existingSecret.redisUrlKey" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.maxReplicas) 1) }}
{{- fail "autoscaling with maxReplicas > 1 needs Redis: set redis.url or existingSecret.redisUrlKey" }}
{{- end }}
{{- end }}
{{- end }}

{{/* ConfigMap key of a team policy file; group paths contain "/", which keys cannot. */}}
{{- define "tierguard.teamKey" -}}
{{- printf "team-%s.yaml" (sha256sum . | trunc 16) }}
{{- end }}

{{/* Directory the policy ConfigMap is mounted at (POLICY_DIR), the image's own policy path. */}}
{{- define "tierguard.policyDir" -}}
/app/policies
{{- end }}
