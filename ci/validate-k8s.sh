#!/usr/bin/env bash
# Validates the project's Kubernetes manifests against the Kubernetes API's JSON schemas with
# kubernetes-validate (PyPI; it bundles the schemas, so it runs offline), in strict mode: an
# unknown field or a wrong type fails. Two kustomizations:
#   reference-stack/deploy  the reference stack (structural and config checks:
#                           `cargo test -p stack-local --test it deploy`)
#   ci/k8s                  a sharded gauntlet run (rendered and run locally:
#                           `cargo test -p gauntlet-cli --test it k8s`)
# Each one's files are validated as written, and, when kubectl (or kustomize) is on the PATH,
# also as rendered (`kubectl kustomize`), as `kubectl apply -k` would send them: ci/k8s's Jobs
# get N and the other parameters only from its kustomization's replacements. No cluster is
# involved. Skips (exit 0, with the reason) when python3 or the package cannot be had; fails on
# a finding.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.37.0
# the oldest Kubernetes the manifests are for (the gateway's preStop `sleep` needs 1.30) and the
# newest schemas the package bundles
kube_versions=(1.30.0 1.37.0)
kustomizations=(reference-stack/deploy ci/k8s)
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

# kustomize's renderer: kubectl's built-in one, else a standalone kustomize
render=()
if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  render=(kubectl kustomize)
elif command -v kustomize >/dev/null; then
  render=(kustomize build)
fi
rendered="$(mktemp --suffix=.yaml)"
trap 'rm -f "$rendered"' EXIT

for dir in "${kustomizations[@]}"; do
  manifests=()
  for file in "$dir"/*.yaml; do
    [ "$(basename "$file")" = kustomization.yaml ] || manifests+=("$file")
  done
  for kube_version in "${kube_versions[@]}"; do
    "$validate" --strict --quiet --kubernetes-version "$kube_version" "${manifests[@]}"
    echo "validate-k8s: $dir: ${#manifests[@]} files, $(cat "${manifests[@]}" | grep -c '^kind:') resources passed against Kubernetes $kube_version"
  done

  if [ ${#render[@]} -gt 0 ]; then
    "${render[@]}" "$dir" >"$rendered"
    echo "validate-k8s: rendered $dir with ${render[*]} ($(grep -c '^kind:' "$rendered") resources)"
    for kube_version in "${kube_versions[@]}"; do
      "$validate" --strict --quiet --kubernetes-version "$kube_version" "$rendered"
      echo "validate-k8s: $dir: the rendered kustomization passed against Kubernetes $kube_version"
    done
  else
    echo "validate-k8s: neither kubectl nor kustomize available; $dir was not rendered (the Rust tests named above check it without them)"
  fi
done
