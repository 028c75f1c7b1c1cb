{{- define "zenpro-cp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "zenpro-cp.fullname" -}}
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

{{- define "zenpro-cp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "zenpro-cp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "zenpro-cp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zenpro-cp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end }}

{{- define "zenpro-cp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "zenpro-cp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "zenpro-cp.image" -}}
{{- $i := .Values.zenml.image.api -}}
{{- printf "%s:%s" $i.repository (toString ($i.tag | default .Chart.AppVersion)) -}}
{{- end }}

{{/* "true" when the database is external (PostgreSQL/MySQL); else SQLite on a volume. */}}
{{- define "zenpro-cp.externalDatabase" -}}
{{- $d := .Values.zenml.database -}}
{{- if or (and $d.urlSecretRef $d.urlSecretRef.name) (and $d.external $d.external.type) -}}true{{- end -}}
{{- end }}

{{- define "zenpro-cp.replicas" -}}
{{- if include "zenpro-cp.externalDatabase" . -}}{{ .Values.zenml.replicaCount | default 1 }}{{- else -}}1{{- end -}}
{{- end }}

{{/* The database URL without its password: (dict "e" external "password" TEXT). */}}
{{- define "zenpro-cp.databaseURL" -}}
{{- $e := .e -}}
{{- $scheme := ternary "postgres" "mysql" (has $e.type (list "postgres" "postgresql")) -}}
{{- $port := $e.port | default (ternary 5432 3306 (eq $scheme "postgres")) -}}
{{- $auth := "" -}}
{{- if $e.username -}}
{{- $auth = ternary (printf "%s:%s@" (urlquery $e.username) .password) (printf "%s@" (urlquery $e.username)) (ne .password "") -}}
{{- end -}}
{{- printf "%s://%s%s:%v/%s" $scheme $auth $e.host $port ($e.database | default "zenml_pro") -}}
{{- end }}

{{- define "zenpro-cp.validate" -}}
{{- $z := .Values.zenml -}}
{{- if not $z.serverURL }}{{ fail "zenml.serverURL is required: the external URL of the control plane (API at <serverURL>/api/v1)" }}{{ end }}
{{- if not (or (hasPrefix "http://" $z.serverURL) (hasPrefix "https://" $z.serverURL)) }}{{ fail "zenml.serverURL must be an http(s) URL" }}{{ end }}
{{- if and $z.auth.sso $z.auth.sso.enabled }}{{ fail "zenml.auth.sso is not supported by zenpro yet: use zenml.auth.password" }}{{ end }}
{{- if not $z.auth.password.enabled }}{{ fail "zenml.auth.password.enabled must be true: zenpro has password accounts only" }}{{ end }}
{{- $e := $z.database.external | default dict -}}
{{- if and $e.type (not (has $e.type (list "postgres" "postgresql" "mysql" "mariadb"))) }}{{ fail "zenml.database.external.type must be postgres or mysql" }}{{ end }}
{{- if and $e.type (not (and $z.database.urlSecretRef $z.database.urlSecretRef.name)) (not $e.host) }}{{ fail "zenml.database.external.host is required with zenml.database.external.type" }}{{ end }}
{{- if not (include "zenpro-cp.externalDatabase" .) }}
{{- if .Values.autoscaling.enabled }}{{ fail "autoscaling needs an external database (zenml.database.external): SQLite runs one replica" }}{{ end }}
{{- if gt (int $z.replicaCount) 1 }}{{ fail "zenml.replicaCount > 1 needs an external database (zenml.database.external): SQLite runs one replica" }}{{ end }}
{{- end }}
{{- end }}

{{/* The data of the release's Secret. Generated values are kept on upgrades. */}}
{{- define "zenpro-cp.secretData" -}}
{{- $z := .Values.zenml -}}
{{- $prev := lookup "v1" "Secret" .Release.Namespace (include "zenpro-cp.fullname" .) -}}
{{- $prevData := dict -}}
{{- if and $prev $prev.data }}{{ $prevData = $prev.data }}{{ end -}}
{{- $e := $z.database.external | default dict -}}
{{- if and $e.type (not (and $z.database.urlSecretRef $z.database.urlSecretRef.name)) (not $e.existingSecret) $e.password }}
ZENPRO_CP_DATABASE_URL: {{ include "zenpro-cp.databaseURL" (dict "e" $e "password" (urlquery (toString $e.password))) | b64enc | quote }}
{{- end }}
{{- if not (and $z.auth.password.existingSecret $z.auth.password.existingSecret.name) }}
{{- if $z.auth.password.adminPassword }}
ZENML_CLOUD_ADMIN_PASSWORD: {{ $z.auth.password.adminPassword | toString | b64enc | quote }}
{{- else if hasKey $prevData "ZENML_CLOUD_ADMIN_PASSWORD" }}
ZENML_CLOUD_ADMIN_PASSWORD: {{ index $prevData "ZENML_CLOUD_ADMIN_PASSWORD" | quote }}
{{- else }}
ZENML_CLOUD_ADMIN_PASSWORD: {{ randAlphaNum 24 | b64enc | quote }}
{{- end }}
{{- end }}
{{- if not (and $z.auth.tokenSecretRef $z.auth.tokenSecretRef.name) }}
{{- if $z.auth.tokenSecret }}
ZENPRO_CP_TOKEN_SECRET: {{ $z.auth.tokenSecret | toString | b64enc | quote }}
{{- else if hasKey $prevData "ZENPRO_CP_TOKEN_SECRET" }}
ZENPRO_CP_TOKEN_SECRET: {{ index $prevData "ZENPRO_CP_TOKEN_SECRET" | quote }}
{{- else }}
ZENPRO_CP_TOKEN_SECRET: {{ randAlphaNum 64 | b64enc | quote }}
{{- end }}
{{- end }}
{{- range $k, $v := $z.secretEnvironment }}
{{ $k }}: {{ $v | toString | b64enc | quote }}
{{- end }}
{{- end }}

{{- define "zenpro-cp.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret | quote }}
      key: {{ .key | quote }}
{{- end }}

{{/* The container environment: (dict "root" $ "secret" SECRET-NAME). */}}
{{- define "zenpro-cp.env" -}}
{{- $root := .root -}}
{{- $sec := .secret -}}
{{- $z := $root.Values.zenml -}}
{{- $e := $z.database.external | default dict -}}
- name: ZENPRO_HOST
  value: "0.0.0.0"
- name: ZENPRO_PORT
  value: "8080"
- name: ZENPRO_DATA_DIR
  value: /zenpro/data
- name: ZENPRO_LOG_FORMAT
  value: json
{{- if $z.debug }}
- name: ZENPRO_LOG
  value: "debug,sqlx=warn"
{{- end }}
- name: ZENPRO_CP_URL
  value: {{ $z.serverURL | trimSuffix "/" | quote }}
- name: ZENPRO_CP_DASHBOARD_URL
  value: {{ $z.serverURL | trimSuffix "/" | quote }}
{{- if and $z.database.urlSecretRef $z.database.urlSecretRef.name }}
{{ include "zenpro-cp.secretEnv" (dict "name" "ZENPRO_CP_DATABASE_URL" "secret" $z.database.urlSecretRef.name "key" ($z.database.urlSecretRef.key | default "url")) }}
{{- else if and $e.type $e.existingSecret }}
{{ include "zenpro-cp.secretEnv" (dict "name" "ZENPRO_CP_DATABASE_PASSWORD" "secret" $e.existingSecret "key" ($e.existingSecretPasswordKey | default "password")) }}
- name: ZENPRO_CP_DATABASE_URL
  value: {{ include "zenpro-cp.databaseURL" (dict "e" $e "password" "$(ZENPRO_CP_DATABASE_PASSWORD)") | quote }}
{{- else if and $e.type $e.password }}
{{ include "zenpro-cp.secretEnv" (dict "name" "ZENPRO_CP_DATABASE_URL" "secret" $sec "key" "ZENPRO_CP_DATABASE_URL") }}
{{- else if $e.type }}
- name: ZENPRO_CP_DATABASE_URL
  value: {{ include "zenpro-cp.databaseURL" (dict "e" $e "password" "") | quote }}
{{- else }}
- name: ZENPRO_CP_DATABASE_URL
  value: "sqlite:////zenpro/data/control-plane/cp.db"
{{- end }}
- name: ZENPRO_CP_ADMIN_USERNAME
  value: {{ $z.auth.password.adminUsername | default "admin" | quote }}
{{- if and $z.auth.password.existingSecret $z.auth.password.existingSecret.name }}
{{ include "zenpro-cp.secretEnv" (dict "name" "ZENPRO_CP_ADMIN_PASSWORD" "secret" $z.auth.password.existingSecret.name "key" ($z.auth.password.existingSecret.key | default "password")) }}
{{- else }}
{{ include "zenpro-cp.secretEnv" (dict "name" "ZENPRO_CP_ADMIN_PASSWORD" "secret" $sec "key" "ZENML_CLOUD_ADMIN_PASSWORD") }}
{{- end }}
{{- if and $z.auth.tokenSecretRef $z.auth.tokenSecretRef.name }}
{{ include "zenpro-cp.secretEnv" (dict "name" "ZENPRO_CP_TOKEN_SECRET" "secret" $z.auth.tokenSecretRef.name "key" ($z.auth.tokenSecretRef.key | default "tokenSecret")) }}
{{- else }}
{{ include "zenpro-cp.secretEnv" (dict "name" "ZENPRO_CP_TOKEN_SECRET" "secret" $sec "key" "ZENPRO_CP_TOKEN_SECRET") }}
{{- end }}
{{- range $k, $v := $z.environment }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- range $k, $v := $z.secretEnvironment }}
{{ include "zenpro-cp.secretEnv" (dict "name" $k "secret" $sec "key" $k) }}
{{- end }}
{{- end }}
