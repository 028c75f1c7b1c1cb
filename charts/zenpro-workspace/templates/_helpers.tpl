{{/*
The server settings: chart defaults under `server:` with the legacy `zenml:` key merged over them
(legacy wins), as the official chart's `zenml.serverValues` does. mustMergeOverwrite keeps
false/0/"" values of the legacy key.
*/}}
{{- define "zenpro-workspace.server" -}}
{{- $server := deepCopy (.Values.server | default dict) -}}
{{- $legacy := deepCopy (.Values.zenml | default dict) -}}
{{- mustMergeOverwrite $server $legacy | toYaml -}}
{{- end -}}

{{- define "zenpro-workspace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "zenpro-workspace.fullname" -}}
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

{{- define "zenpro-workspace.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "zenpro-workspace.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "zenpro-workspace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zenpro-workspace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "zenpro-workspace.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "zenpro-workspace.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "zenpro-workspace.image" -}}
{{- $s := include "zenpro-workspace.server" . | fromYaml -}}
{{- printf "%s:%s" $s.image.repository (toString ($s.image.tag | default .Chart.AppVersion)) -}}
{{- end }}

{{/* Whether the database is external (a URL in values or in a Secret); else SQLite. */}}
{{- define "zenpro-workspace.externalDatabase" -}}
{{- $s := include "zenpro-workspace.server" . | fromYaml -}}
{{- if or $s.database.url (and $s.database.urlSecretRef $s.database.urlSecretRef.name) -}}true{{- end -}}
{{- end }}

{{/*
Render-time checks: fail with a message naming the value instead of deploying a server that
cannot start.
*/}}
{{- define "zenpro-workspace.validate" -}}
{{- $s := include "zenpro-workspace.server" . | fromYaml -}}
{{- if $s.pro.enabled }}
{{- if not $s.serverURL }}{{ fail "server.serverURL (or zenml.serverURL) is required when pro.enabled is true: it is the workspace URL the control plane and clients use" }}{{ end }}
{{- if not $s.pro.apiURL }}{{ fail "pro.apiURL is required when pro.enabled is true" }}{{ end }}
{{- if not $s.pro.dashboardURL }}{{ fail "pro.dashboardURL is required when pro.enabled is true" }}{{ end }}
{{- if not $s.pro.organizationID }}{{ fail "pro.organizationID is required when pro.enabled is true" }}{{ end }}
{{- if not $s.pro.workspaceID }}{{ fail "pro.workspaceID is required when pro.enabled is true" }}{{ end }}
{{- $uuid := "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$" }}
{{- if not (regexMatch $uuid (toString $s.pro.organizationID)) }}{{ fail (printf "pro.organizationID %q is not a UUID" (toString $s.pro.organizationID)) }}{{ end }}
{{- if not (regexMatch $uuid (toString $s.pro.workspaceID)) }}{{ fail (printf "pro.workspaceID %q is not a UUID" (toString $s.pro.workspaceID)) }}{{ end }}
{{- if not (or $s.pro.enrollmentKey (and $s.pro.enrollmentKeySecretRef $s.pro.enrollmentKeySecretRef.name)) }}{{ fail "pro.enrollmentKey (or pro.enrollmentKeySecretRef) is required when pro.enabled is true: zenpro admin workspace create prints it" }}{{ end }}
{{- end }}
{{- if and $s.backupSecretsStore $s.backupSecretsStore.enabled }}{{ fail "backupSecretsStore is not supported by zenpro; remove it (or set enabled: false)" }}{{ end }}
{{- if and $s.database.passwordSecretRef $s.database.passwordSecretRef.name (not $s.database.url) }}{{ fail "database.passwordSecretRef needs database.url (without the password)" }}{{ end }}
{{- if and (not (include "zenpro-workspace.externalDatabase" .)) (gt (int $s.replicaCount) 1) }}{{ fail "a SQLite workspace runs one replica: set database.url (MySQL) for replicaCount > 1" }}{{ end }}
{{- end }}

{{/*
The data of the release's Secret (every secret value of the values file). Called with the root
context. The JWT key is generated on install and kept on upgrades when not given.
*/}}
{{- define "zenpro-workspace.secretData" -}}
{{- $s := include "zenpro-workspace.server" . | fromYaml -}}
{{- $prev := lookup "v1" "Secret" .Release.Namespace (include "zenpro-workspace.fullname" .) -}}
{{- if not (and $s.auth.jwtSecretKeySecretRef $s.auth.jwtSecretKeySecretRef.name) }}
{{- if $s.auth.jwtSecretKey }}
ZENML_SERVER_JWT_SECRET_KEY: {{ $s.auth.jwtSecretKey | toString | b64enc | quote }}
{{- else if and $prev $prev.data $prev.data.ZENML_SERVER_JWT_SECRET_KEY }}
ZENML_SERVER_JWT_SECRET_KEY: {{ $prev.data.ZENML_SERVER_JWT_SECRET_KEY | quote }}
{{- else }}
ZENML_SERVER_JWT_SECRET_KEY: {{ randAlphaNum 64 | b64enc | quote }}
{{- end }}
{{- end }}
{{- if and $s.database.url (not (and $s.database.passwordSecretRef $s.database.passwordSecretRef.name)) }}
ZENML_STORE_URL: {{ $s.database.url | toString | b64enc | quote }}
{{- end }}
{{- if and $s.pro.enabled $s.pro.enrollmentKey (not (and $s.pro.enrollmentKeySecretRef $s.pro.enrollmentKeySecretRef.name)) }}
ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET: {{ $s.pro.enrollmentKey | toString | b64enc | quote }}
{{- end }}
{{- if $s.secretsStore.enabled }}
{{- if and (eq $s.secretsStore.type "sql") $s.secretsStore.sql $s.secretsStore.sql.encryptionKey }}
ZENML_SECRETS_STORE_ENCRYPTION_KEY: {{ $s.secretsStore.sql.encryptionKey | toString | b64enc | quote }}
{{- else if and (eq $s.secretsStore.type "sql") $s.secretsStore.encryptionKey }}
ZENML_SECRETS_STORE_ENCRYPTION_KEY: {{ $s.secretsStore.encryptionKey | toString | b64enc | quote }}
{{- end }}
{{- if eq $s.secretsStore.type "hashicorp" }}
{{- $h := $s.secretsStore.hashicorp }}
{{- if and $h.vault_token (not (and $h.vaultTokenSecretRef $h.vaultTokenSecretRef.name)) }}
ZENML_SECRETS_STORE_VAULT_TOKEN: {{ $h.vault_token | toString | b64enc | quote }}
{{- end }}
{{- if $h.app_secret_id }}
ZENML_SECRETS_STORE_APP_SECRET_ID: {{ $h.app_secret_id | toString | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- range $k, $v := $s.secretEnvironment }}
{{ $k }}: {{ $v | toString | b64enc | quote }}
{{- end }}
{{- end }}

{{/* A secretKeyRef env entry: (dict "name" ENV "secret" NAME "key" KEY). */}}
{{- define "zenpro-workspace.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret | quote }}
      key: {{ .key | quote }}
{{- end }}

{{- define "zenpro-workspace.plainEnv" -}}
- name: {{ .name }}
  value: {{ .value | toString | quote }}
{{- end }}

{{/*
The container environment, shared by the Deployment and the migration Job:
(dict "root" $ "secret" SECRET-NAME). Secret values only ever come through secretKeyRef.
*/}}
{{- define "zenpro-workspace.env" -}}
{{- $root := .root -}}
{{- $sec := .secret -}}
{{- $s := include "zenpro-workspace.server" $root | fromYaml -}}
{{- $data := include "zenpro-workspace.secretData" $root | fromYaml | default dict -}}
- name: ZENPRO_HOST
  value: "0.0.0.0"
- name: ZENPRO_PORT
  value: "8080"
- name: ZENPRO_DATA_DIR
  value: /zenpro/data
- name: ZENPRO_LOG_FORMAT
  value: json
{{- if $s.debug }}
- name: ZENPRO_LOG
  value: "debug,sqlx=warn"
{{- end }}
- name: ZENML_SERVER
  value: "True"
- name: ZENML_ANALYTICS_OPT_IN
  value: {{ ternary "True" "False" (ne (toString $s.analyticsOptIn) "false") | quote }}
- name: ZENML_DEFAULT_PROJECT_NAME
  value: {{ $s.defaultProject | default "default" | quote }}
{{- /* database */}}
{{- if and $s.database.urlSecretRef $s.database.urlSecretRef.name }}
{{ include "zenpro-workspace.secretEnv" (dict "name" "ZENML_STORE_URL" "secret" $s.database.urlSecretRef.name "key" ($s.database.urlSecretRef.key | default "url")) }}
{{- else if and $s.database.url $s.database.passwordSecretRef $s.database.passwordSecretRef.name }}
{{ include "zenpro-workspace.secretEnv" (dict "name" "ZENML_STORE_PASSWORD" "secret" $s.database.passwordSecretRef.name "key" ($s.database.passwordSecretRef.key | default "password")) }}
{{- $u := urlParse $s.database.url }}
{{- $user := (splitList ":" ($u.userinfo | default "")) | first }}
- name: ZENML_STORE_URL
  value: {{ printf "%s://%s:$(ZENML_STORE_PASSWORD)@%s%s%s" $u.scheme $user $u.host $u.path (ternary (printf "?%s" $u.query) "" (ne $u.query "")) | quote }}
{{- else if $s.database.url }}
{{ include "zenpro-workspace.secretEnv" (dict "name" "ZENML_STORE_URL" "secret" $sec "key" "ZENML_STORE_URL") }}
{{- end }}
{{- /* server */}}
{{- if hasKey $data "ZENML_SERVER_JWT_SECRET_KEY" }}
{{ include "zenpro-workspace.secretEnv" (dict "name" "ZENML_SERVER_JWT_SECRET_KEY" "secret" $sec "key" "ZENML_SERVER_JWT_SECRET_KEY") }}
{{- else }}
{{ include "zenpro-workspace.secretEnv" (dict "name" "ZENML_SERVER_JWT_SECRET_KEY" "secret" $s.auth.jwtSecretKeySecretRef.name "key" ($s.auth.jwtSecretKeySecretRef.key | default "jwtSecretKey")) }}
{{- end }}
{{- if $s.serverURL }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_SERVER_URL" "value" $s.serverURL) }}
{{- end }}
{{- if $s.pro.enabled }}
- name: ZENML_SERVER_DEPLOYMENT_TYPE
  value: cloud
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_PRO_API_URL" "value" $s.pro.apiURL) }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_PRO_DASHBOARD_URL" "value" $s.pro.dashboardURL) }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_PRO_OAUTH2_AUDIENCE" "value" $s.pro.apiURL) }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_PRO_ORGANIZATION_ID" "value" $s.pro.organizationID) }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_PRO_WORKSPACE_ID" "value" $s.pro.workspaceID) }}
{{- if $s.pro.organizationName }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_PRO_ORGANIZATION_NAME" "value" $s.pro.organizationName) }}
{{- end }}
{{- if $s.pro.workspaceName }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_PRO_WORKSPACE_NAME" "value" $s.pro.workspaceName) }}
{{- end }}
{{- if and $s.pro.enrollmentKeySecretRef $s.pro.enrollmentKeySecretRef.name }}
{{ include "zenpro-workspace.secretEnv" (dict "name" "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET" "secret" $s.pro.enrollmentKeySecretRef.name "key" ($s.pro.enrollmentKeySecretRef.key | default "enrollmentKey")) }}
{{- else }}
{{ include "zenpro-workspace.secretEnv" (dict "name" "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET" "secret" $sec "key" "ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET") }}
{{- end }}
{{- else }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_DEPLOYMENT_TYPE" "value" ($s.deploymentType | default "kubernetes")) }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_AUTH_SCHEME" "value" ($s.authType | default $s.auth.authType | default "OAUTH2_PASSWORD_BEARER")) }}
{{- if $s.dashboardURL }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_DASHBOARD_URL" "value" $s.dashboardURL) }}
{{- end }}
{{- if $s.auth.externalServerID }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SERVER_EXTERNAL_SERVER_ID" "value" $s.auth.externalServerID) }}
{{- end }}
{{- end }}
{{- range $pair := list (list "jwtTokenExpireMinutes" "ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES") (list "jwtTokenIssuer" "ZENML_SERVER_JWT_TOKEN_ISSUER") (list "jwtTokenAudience" "ZENML_SERVER_JWT_TOKEN_AUDIENCE") (list "jwtTokenLeewaySeconds" "ZENML_SERVER_JWT_TOKEN_LEEWAY_SECONDS") (list "authCookieName" "ZENML_SERVER_AUTH_COOKIE_NAME") (list "maxFailedDeviceAuthAttempts" "ZENML_SERVER_MAX_FAILED_DEVICE_AUTH_ATTEMPTS") (list "deviceAuthTimeout" "ZENML_SERVER_DEVICE_AUTH_TIMEOUT") (list "deviceAuthPollingInterval" "ZENML_SERVER_DEVICE_AUTH_POLLING_INTERVAL") (list "deviceExpirationMinutes" "ZENML_SERVER_DEVICE_EXPIRATION_MINUTES") (list "trustedDeviceExpirationMinutes" "ZENML_SERVER_TRUSTED_DEVICE_EXPIRATION_MINUTES") }}
{{- $v := index $s.auth (index $pair 0) }}
{{- if not (kindIs "invalid" $v) }}
{{- if ne (toString $v) "" }}
{{ include "zenpro-workspace.plainEnv" (dict "name" (index $pair 1) "value" $v) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* secrets store */}}
{{- if not $s.secretsStore.enabled }}
- name: ZENML_SECRETS_STORE_TYPE
  value: none
{{- else }}
{{ include "zenpro-workspace.plainEnv" (dict "name" "ZENML_SECRETS_STORE_TYPE" "value" $s.secretsStore.type) }}
{{- if hasKey $data "ZENML_SECRETS_STORE_ENCRYPTION_KEY" }}
{{ include "zenpro-workspace.secretEnv" (dict "name" "ZENML_SECRETS_STORE_ENCRYPTION_KEY" "secret" $sec "key" "ZENML_SECRETS_STORE_ENCRYPTION_KEY") }}
{{- end }}
{{- if eq $s.secretsStore.type "hashicorp" }}
{{- $h := $s.secretsStore.hashicorp }}
{{- range $pair := list (list "vault_addr" "VAULT_ADDR") (list "vault_namespace" "VAULT_NAMESPACE") (list "max_versions" "MAX_VERSIONS") (list "auth_method" "AUTH_METHOD") (list "auth_mount_point" "AUTH_MOUNT_POINT") (list "mount_point" "MOUNT_POINT") (list "app_role_id" "APP_ROLE_ID") (list "aws_role" "AWS_ROLE") (list "aws_header_value" "AWS_HEADER_VALUE") }}
{{- $v := index $h (index $pair 0) }}
{{- if not (kindIs "invalid" $v) }}
{{- if ne (toString $v) "" }}
{{ include "zenpro-workspace.plainEnv" (dict "name" (printf "ZENML_SECRETS_STORE_%s" (index $pair 1)) "value" $v) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $h.vaultTokenSecretRef $h.vaultTokenSecretRef.name }}
{{ include "zenpro-workspace.secretEnv" (dict "name" "ZENML_SECRETS_STORE_VAULT_TOKEN" "secret" $h.vaultTokenSecretRef.name "key" ($h.vaultTokenSecretRef.key | default "token")) }}
{{- else if hasKey $data "ZENML_SECRETS_STORE_VAULT_TOKEN" }}
{{ include "zenpro-workspace.secretEnv" (dict "name" "ZENML_SECRETS_STORE_VAULT_TOKEN" "secret" $sec "key" "ZENML_SECRETS_STORE_VAULT_TOKEN") }}
{{- end }}
{{- if hasKey $data "ZENML_SECRETS_STORE_APP_SECRET_ID" }}
{{ include "zenpro-workspace.secretEnv" (dict "name" "ZENML_SECRETS_STORE_APP_SECRET_ID" "secret" $sec "key" "ZENML_SECRETS_STORE_APP_SECRET_ID") }}
{{- end }}
{{- end }}
{{- end }}
{{- range $k, $v := $s.environment }}
{{ include "zenpro-workspace.plainEnv" (dict "name" $k "value" $v) }}
{{- end }}
{{- range $k, $v := $s.secretEnvironment }}
{{ include "zenpro-workspace.secretEnv" (dict "name" $k "secret" $sec "key" $k) }}
{{- end }}
{{- end }}
