{{/* Shared names and labels. One template per resource uses these, so they stay consistent. */}}

{{- define "model-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "model-server.fullname" -}}
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

{{- define "model-server.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "model-server.selectorLabels" -}}
app.kubernetes.io/name: {{ include "model-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "model-server.labels" -}}
helm.sh/chart: {{ include "model-server.chart" . }}
{{ include "model-server.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: spark-model-server
{{- end }}

{{- define "model-server.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "model-server.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is pinned. */}}
{{- define "model-server.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "model-server.verifySecretName" -}}
{{- default (printf "%s-verify" (include "model-server.fullname" .)) .Values.verification.existingSecret }}
{{- end }}

{{- define "model-server.authSecretName" -}}
{{- default (printf "%s-auth" (include "model-server.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "model-server.trainingImage" -}}
{{- printf "%s:%s" .Values.training.image.repository (default .Chart.AppVersion .Values.training.image.tag) }}
{{- end }}

{{- define "model-server.pvcName" -}}
{{- default (printf "%s-models" (include "model-server.fullname" .)) .Values.model.pvc.existingClaim }}
{{- end }}

{{/* Where mounted files live inside the container; the rendered env points at these. */}}
{{- define "model-server.keyDir" -}}/etc/model-server/keys{{- end }}
{{- define "model-server.authDir" -}}/etc/model-server/auth{{- end }}
{{- define "model-server.tlsDir" -}}/etc/model-server/tls{{- end }}

{{- define "model-server.scheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* Refuse value combinations that would deploy something broken. */}}
{{- define "model-server.validate" -}}
{{- $s := .Values.server }}
{{- if le (int $s.preStopSleepSeconds) (int $s.gracefulTimeout) }}
{{- fail "server.preStopSleepSeconds must be greater than server.gracefulTimeout (drain before Gunicorn's graceful stop)" }}
{{- end }}
{{- if le (int $s.terminationGracePeriodSeconds) (add $s.preStopSleepSeconds $s.gracefulTimeout | int) }}
{{- fail "server.terminationGracePeriodSeconds must exceed preStopSleepSeconds + gracefulTimeout" }}
{{- end }}
{{- if and (not .Values.verification.existingSecret) (not .Values.verification.key) }}
{{- fail "set verification.existingSecret (recommended) or verification.key: the server refuses unsigned or unverifiable models" }}
{{- end }}
{{- if and (eq .Values.model.delivery "download") (not .Values.model.download.url) }}
{{- fail "model.delivery=download needs model.download.url" }}
{{- end }}
{{- if and (eq .Values.model.delivery "download") (hasPrefix "http://" .Values.model.download.url) (not .Values.model.download.sha256) }}
{{- fail "model.download.url is plain http://: use https:// or set model.download.sha256 (the tarball's pin)" }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) }}
{{- fail "tls.enabled needs tls.secretName (a kubernetes.io/tls Secret)" }}
{{- end }}
{{- if and .Values.training.enabled (not .Values.training.signingKeySecret) }}
{{- fail "training.enabled needs training.signingKeySecret: the job signs every artifact it writes" }}
{{- end }}
{{- if and .Values.training.enabled .Values.training.writeToModelPVC (not .Values.model.pvc.existingClaim) }}
{{- fail "training.writeToModelPVC needs model.pvc.existingClaim (a ReadWriteMany claim shared with the server)" }}
{{- end }}
{{- if and .Values.training.enabled (eq .Values.training.kind "SparkApplication") }}
{{- $args := join " " .Values.training.args }}
{{- if and (regexMatch "(^| )--task(=| )recommendation( |$)" $args) (not (regexMatch "(^| )--checkpoint-dir[= ]" $args)) }}
{{- fail "training.args: --task recommendation on a SparkApplication needs --checkpoint-dir on storage every executor reaches (hdfs://, s3a://): ALS refuses to run without it on a cluster" }}
{{- end }}
{{- end }}
{{- if and .Values.tracing.enabled (not .Values.tracing.endpoint) }}
{{- fail "tracing.enabled needs tracing.endpoint (the collector's OTLP/HTTP URL, e.g. http://otel-collector.observability:4318)" }}
{{- end }}
{{- if and .Values.tracing.enabled .Values.networkPolicy.enabled (not .Values.tracing.egressTo) }}
{{- fail "tracing.enabled with networkPolicy.enabled needs tracing.egressTo (the collector's pods or namespace): the policy lets the pods send nothing else" }}
{{- end }}
{{- end }}

{{/*
checkov suppressions, each with its reason, as metadata annotations. Call with a dict:
(dict "ctx" $ "probes" true "uid" true). Digest and pull-policy skips vanish once a digest is pinned.
*/}}
{{- define "model-server.checkovSkips" }}
{{- $ctx := .ctx }}
{{- $i := 0 }}
{{- if not $ctx.Values.image.digest }}
{{- $i = add1 $i }}
checkov.io/skip{{ $i }}: CKV_K8S_43=Images are addressed by immutable version tags (appVersion); set image.digest to pin by digest
{{- $i = add1 $i }}
checkov.io/skip{{ $i }}: CKV_K8S_15=Version tags are never re-pushed, so IfNotPresent is safe; set image.pullPolicy to Always for mutable tags
{{- end }}
{{- if .probes }}
{{- $i = add1 $i }}
checkov.io/skip{{ $i }}: CKV_K8S_8=Run-to-completion pod (test hook or training), nothing to keep alive
{{- $i = add1 $i }}
checkov.io/skip{{ $i }}: CKV_K8S_9=Run-to-completion pod (test hook or training), it serves no traffic
{{- end }}
{{- if .uid }}
{{- $i = add1 $i }}
checkov.io/skip{{ $i }}: CKV_K8S_40=uid 185 is the spark user baked into the official apache/spark image
{{- end }}
{{- end }}

{{/*
NOTES.txt: example requests against base (a URL), fitting tests.request.kind ("auto" shows the
image and recommender forms). Call with (dict "root" $ "base" "https://host").
*/}}
{{- define "model-server.notesRequests" }}
{{- $req := .root.Values.tests.request }}
{{- $model := $req.model | default "MODEL" }}
{{- $user := ternary "\"USER\"" ($req.user | toJson) (eq (toString $req.user) "") }}
{{- if has $req.kind (list "auto" "digit") }}
   curl -F file=@7.png {{ .base }}/predict{{ if eq $req.kind "auto" }}    # an image model{{ end }}
{{- end }}
{{- if has $req.kind (list "auto" "recommend") }}
   curl -H 'Content-Type: application/json' {{ .base }}/v1/models/{{ $model }}:recommend -d '{"user": {{ $user }}, "k": {{ $req.k }}}'{{ if eq $req.kind "auto" }}    # a recommender{{ end }}
{{- end }}
{{- if has $req.kind (list "auto" "metadata") }}
   curl {{ .base }}/v2/models/{{ $model }}{{ if eq $req.kind "auto" }}    # any model: its inputs and outputs{{ end }}
{{- end }}
{{- end }}

{{/*
NOTES.txt: what the `helm test` hook checks, per tests.request.kind.
*/}}
{{- define "model-server.testSummary" }}
{{- $req := .Values.tests.request }}
{{- $model := ternary "the default model" (printf "model %s" $req.model) (eq $req.model "") }}
{{- if eq $req.kind "digit" }}posts a sample "{{ .Values.tests.expectedDigit }}" to /predict through the Service
{{- else if eq $req.kind "recommend" }}asks {{ $model }} for {{ $req.k }} recommendations through the Service
{{- else if eq $req.kind "metadata" }}reads the V2 metadata of {{ $model }} through the Service
{{- else }}probes, then a request that fits {{ $model }}: a sample "{{ .Values.tests.expectedDigit }}" to /predict, {{ $req.k }} recommendations, or V2 metadata
{{- end }}
{{- end }}
