#!/usr/bin/env bash
# Validates the reference stack's Kubernetes manifests (reference-stack/deploy/) against the
# Kubernetes API's JSON schemas with kubernetes-validate (PyPI; it bundles the schemas, so it
# runs offline), in strict mode: an unknown field or a wrong type fails. When kubectl is on the
# PATH, the kustomization is also rendered (`kubectl kustomize`) and the result validated, as
# `kubectl apply -k` would send it. No cluster is involved. The structural and config checks
# are a Rust test: `cargo test -p stack-local --test it deploy`.
# Skips (exit 0, with the reason) when python3 or the package cannot be had; fails on a finding.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.37.0
# the oldest Kubernetes the manifests are for (the gateway's preStop `sleep` needs 1.30) and the
# newest schemas the package bundles
kube_versions=(1.30.0 1.37.0)
deploy=reference-stack/deploy
tool_dir="$PWD/target/tools/kubernetes-validate-$version"
validate="$tool_dir/bin/kubernetes-validate"

if [ ! -x "$validate" ]; then
  if ! command -v python3 >/dev/null; then
    echo "validate-k8s: python3 not available; skipped"
    exit 0
  fi
  rm -rf "$tool_dir"
  if ! python3 -m venv "$tool_dir" >/dev/null 2>&1; then
    echo "validate-k8s: python3 -m venv failed (python3-venv missing?); skipped"
    rm -rf "$tool_dir"
    exit 0
  fi
  if ! "$tool_dir/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$version" >/dev/null 2>&1; then
    echo "validate-k8s: pip could not install kubernetes-validate==$version; skipped"
    rm -rf "$tool_dir"
    exit 0
  fi
fi
echo "validate-k8s: kubernetes-validate $("$validate" --version), strict, Kubernetes ${kube_versions[*]}"

manifests=()
for file in "$deploy"/*.yaml; do
  [ "$(basename "$file")" = kustomization.yaml ] || manifests+=("$file")
done
for kube_version in "${kube_versions[@]}"; do
  "$validate" --strict --quiet --kubernetes-version "$kube_version" "${manifests[@]}"
  echo "validate-k8s: ${#manifests[@]} files, $(cat "${manifests[@]}" | grep -c '^kind:') resources passed against Kubernetes $kube_version"
done

if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  rendered="$(mktemp --suffix=.yaml)"
  trap 'rm -f "$rendered"' EXIT
  kubectl kustomize "$deploy" >"$rendered"
  echo "validate-k8s: rendered $deploy with kubectl kustomize ($(grep -c '^kind:' "$rendered") resources)"
  for kube_version in "${kube_versions[@]}"; do
    "$validate" --strict --quiet --kubernetes-version "$kube_version" "$rendered"
    echo "validate-k8s: the rendered kustomization passed against Kubernetes $kube_version"
  done
else
  echo "validate-k8s: kubectl not available; the kustomization was not rendered (the Rust test checks its file list)"
fi
