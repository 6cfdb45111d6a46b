{{/* Names. */}}
{{- define "fabsync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fabsync.fullname" -}}
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

{{/* The name of one component: <fullname>-<component>, at most 63 characters. */}}
{{- define "fabsync.componentName" -}}
{{- printf "%s-%s" (include "fabsync.fullname" .root | trunc (int (sub 62 (len .component))) | trimSuffix "-") .component }}
{{- end }}

{{- define "fabsync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource; call with (dict "root" $ "component" "api"). */}}
{{- define "fabsync.labels" -}}
helm.sh/chart: {{ include "fabsync.chart" .root }}
{{ include "fabsync.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: fabsync
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "fabsync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fabsync.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "fabsync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "fabsync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* An image reference from {repository, tag, digest}; default tag: the chart's appVersion. */}}
{{- define "fabsync.imageRef" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (toString (default .default .image.tag)) }}
{{- end }}
{{- end }}

{{- define "fabsync.image" -}}
{{- include "fabsync.imageRef" (dict "image" .Values.image "default" .Chart.AppVersion) }}
{{- end }}

{{- define "fabsync.configMapName" -}}
{{- default (include "fabsync.componentName" (dict "root" . "component" "fabrics")) .Values.fabricsFile.existingConfigMap }}
{{- end }}

{{- define "fabsync.redisName" -}}
{{- include "fabsync.componentName" (dict "root" . "component" "redis") }}
{{- end }}

{{/*
Which Redis: bundled, url, urlSecret, sentinel or cluster. Exactly one external form is allowed
when the bundled Redis is off, and none when it is on.
*/}}
{{- define "fabsync.redisMode" -}}
{{- $r := .Values.redis }}
{{- $forms := list }}
{{- if $r.url }}{{ $forms = append $forms "url" }}{{ end }}
{{- if $r.urlSecret.name }}{{ $forms = append $forms "urlSecret" }}{{ end }}
{{- if $r.sentinel.addrs }}{{ $forms = append $forms "sentinel" }}{{ end }}
{{- if $r.cluster.addrs }}{{ $forms = append $forms "cluster" }}{{ end }}
{{- if $r.bundled.enabled }}
{{- if $forms }}
{{- fail (printf "redis: bundled.enabled is true and redis.%s is set too; set redis.bundled.enabled=false to use an external Redis" (first $forms)) }}
{{- end }}
{{- print "bundled" }}
{{- else }}
{{- if ne (len $forms) 1 }}
{{- fail (printf "redis: with bundled.enabled=false set exactly one of redis.url, redis.urlSecret.name, redis.sentinel.addrs, redis.cluster.addrs (got %d)" (len $forms)) }}
{{- end }}
{{- first $forms }}
{{- end }}
{{- end }}

{{/* The environment variables that give REDIS_URL (README: Settings). */}}
{{- define "fabsync.redisEnv" -}}
{{- $r := .Values.redis }}
{{- $mode := include "fabsync.redisMode" . }}
{{- if eq $mode "bundled" }}
{{- $host := printf "%s.%s.svc" (include "fabsync.redisName" .) .Release.Namespace }}
{{- if $r.bundled.auth.existingSecret }}
- name: FABSYNC_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $r.bundled.auth.existingSecret }}
      key: {{ $r.bundled.auth.key }}
- name: REDIS_URL
  value: {{ printf "redis://:$(FABSYNC_REDIS_PASSWORD)@%s:6379/0" $host | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379/0" $host | quote }}
{{- end }}
{{- else if eq $mode "url" }}
- name: REDIS_URL
  value: {{ $r.url | quote }}
{{- else if eq $mode "urlSecret" }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $r.urlSecret.name }}
      key: {{ $r.urlSecret.key }}
{{- else if eq $mode "sentinel" }}
{{- $q := printf "master=%s" (required "redis.sentinel.masterName is required" $r.sentinel.masterName | urlquery) }}
{{- if $r.sentinel.passwordSecret.name }}
- name: FABSYNC_REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $r.sentinel.passwordSecret.name }}
      key: {{ $r.sentinel.passwordSecret.key }}
- name: REDIS_URL
  value: {{ printf "redis-sentinel://:$(FABSYNC_REDIS_SENTINEL_PASSWORD)@%s?%s" (join "," $r.sentinel.addrs) $q | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ printf "redis-sentinel://%s?%s" (join "," $r.sentinel.addrs) $q | quote }}
{{- end }}
{{- else if eq $mode "cluster" }}
- name: REDIS_URL
  value: {{ printf "redis-cluster://%s" (join "," $r.cluster.addrs) | quote }}
{{- end }}
{{- end }}

{{/* Environment shared by the API and the workers. */}}
{{- define "fabsync.commonEnv" -}}
{{ include "fabsync.redisEnv" . | trim }}
- name: FABSYNC_CONFIG
  value: {{ printf "/etc/fabsync/%s" .Values.fabricsFile.key | quote }}
{{- end }}

{{/* Volumes shared by the API and the workers: the fabrics folder and /tmp. */}}
{{- define "fabsync.commonVolumes" -}}
# The ConfigMap is mounted as a folder, never with subPath: a subPath mount is not updated when
# the ConfigMap changes, the folder's ..data symlink is swapped and fabsync re-reads the file.
- name: fabrics
  configMap:
    name: {{ include "fabsync.configMapName" . }}
    items:
      - key: {{ .Values.fabricsFile.key }}
        path: {{ .Values.fabricsFile.key }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}

{{- define "fabsync.commonVolumeMounts" -}}
- name: fabrics
  mountPath: /etc/fabsync
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end }}
