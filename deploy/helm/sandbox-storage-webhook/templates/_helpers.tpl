{{/* Name of every object: the release name unless overridden (63 characters at most, the DNS label limit). */}}
{{- define "ssw.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ssw.selectorLabels" -}}
app.kubernetes.io/name: sandbox-storage-webhook
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ssw.labels" -}}
{{ include "ssw.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: sandbox-storage
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ssw.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{/* The Secret the serving certificate lives in. */}}
{{- define "ssw.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "existing-secret" -}}
{{ required "certificates.existingSecret.name is required with certificates.mode=existing-secret" .Values.certificates.existingSecret.name }}
{{- else -}}
{{ include "ssw.fullname" . }}-tls
{{- end -}}
{{- end -}}

{{/* The Secret holding the ownership key (created by the first replica that finds none). */}}
{{- define "ssw.ownershipKeySecretName" -}}
{{ include "ssw.fullname" . }}-ownership-key
{{- end -}}

{{/* Annotations and caBundle shared by both webhook configurations, per certificate mode. */}}
{{- define "ssw.webhookAnnotations" -}}
{{- if eq .Values.certificates.mode "cert-manager" }}
annotations:
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "ssw.fullname" . }}-serving
{{- end }}
{{- end -}}

{{- define "ssw.caBundle" -}}
{{- if eq .Values.certificates.mode "existing-secret" }}
caBundle: {{ required "certificates.existingSecret.caBundle (base64 PEM) is required with certificates.mode=existing-secret" .Values.certificates.existingSecret.caBundle }}
{{- end }}
{{- end -}}

{{/* Namespaces never sent to the webhook: the configured ones and the webhook's own (it must not block itself). */}}
{{- define "ssw.namespaceSelector" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ append .Values.webhook.excludedNamespaces .Release.Namespace | uniq | toJson }}
{{- end -}}

{{- define "ssw.policyFile" -}}/etc/sandbox-storage/policies/policies.yaml{{- end -}}
{{/* Policies come from a mounted ConfigMap (policySource=files with at least one policy). */}}
{{- define "ssw.policyConfigMap" -}}
{{- if and (eq .Values.policySource "files") (or .Values.policies .Values.examplePolicy.enabled) -}}true{{- end -}}
{{- end -}}

{{/* The policy documents of the values (and the example), as a list, for the ConfigMap or as objects. */}}
{{- define "ssw.policyDocuments" -}}
{{- $documents := .Values.policies -}}
{{- if .Values.examplePolicy.enabled }}
{{- $example := dict
  "apiVersion" "sandbox-storage.io/v1alpha1"
  "kind" "SandboxStoragePolicy"
  "metadata" (dict "name" "example-shared-home")
  "spec" (dict
    "mode" "shared"
    "namespaceSelector" (dict "matchLabels" (dict "sandbox-storage.io/policy" "shared-home"))
    "shared" (dict
      "claimName" "sandbox-shared"
      "mounts" (list
        (dict "subPath" "users/{user}/threads/{thread}/user-data" "mountPath" "/sandbox")
        (dict "subPath" "users/{user}/skills" "mountPath" "/skills" "readOnly" true)))) -}}
{{- $documents = append $documents $example -}}
{{- end -}}
{{- toJson $documents -}}
{{- end -}}
