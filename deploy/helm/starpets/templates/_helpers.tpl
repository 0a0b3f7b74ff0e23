{{/* The chart's name, and the release's full name (release name + chart name, unless overridden). */}}
{{- define "starpets.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "starpets.fullname" -}}
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

{{- define "starpets.selectorLabels" -}}
app.kubernetes.io/name: {{ include "starpets.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "starpets.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "starpets.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "starpets.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "starpets.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the chart creates for values given inline (database.password, apiTokens.*). */}}
{{- define "starpets.secretName" -}}
{{- include "starpets.fullname" . }}
{{- end }}

{{- define "starpets.databaseSecretName" -}}
{{- default (include "starpets.secretName" .) .Values.database.existingSecret }}
{{- end }}

{{- define "starpets.databasePasswordKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.passwordKey }}{{ else }}db-password{{ end }}
{{- end }}

{{/* The owner's password: its own Secret (CloudNativePG's <cluster>-app), else the database Secret's owner key. */}}
{{- define "starpets.ownerPasswordRef" -}}
{{- if .Values.database.ownerSecret -}}
name: {{ .Values.database.ownerSecret }}
key: {{ .Values.database.ownerSecretPasswordKey }}
{{- else -}}
name: {{ include "starpets.databaseSecretName" . }}
key: {{ if .Values.database.existingSecret }}{{ .Values.database.ownerPasswordKey }}{{ else }}db-owner-password{{ end }}
{{- end -}}
{{- end }}

{{- define "starpets.apiTokensSecretName" -}}
{{- default (include "starpets.secretName" .) .Values.apiTokens.existingSecret }}
{{- end }}

{{/*
Spring's request drain on shutdown: spring.lifecycle.timeout-per-shutdown-phase in
starpets-service/src/main/resources/application.yml (60s). Not a value: the image decides it. HelmChartTest checks
that the two agree.
*/}}
{{- define "starpets.requestDrainSeconds" -}}
60
{{- end }}

{{/* How long an instance may take to stop gracefully; see "shutdown" in values.yaml. */}}
{{- define "starpets.terminationGracePeriodSeconds" -}}
{{- $s := .Values.scheduler }}
{{- add .Values.shutdown.preStopSleepSeconds (include "starpets.requestDrainSeconds" . | int) $s.pollSeconds $s.shutdownGraceSeconds $s.leaseSeconds .Values.shutdown.marginSeconds }}
{{- end }}

{{/* The job label of the scraped instances, as the alerts (up{job="starpets-app"}) expect. */}}
{{- define "starpets.prometheusJob" -}}
starpets-app
{{- end }}
