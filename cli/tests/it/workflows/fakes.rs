//! Stand-ins for the CI tools ci/baseline-compare.sh calls, put on a test job's PATH: they
//! record how they were called and serve what the test stored, nothing more.

/// `gh` as ci/baseline-compare.sh calls it. Records its arguments (and the token and repository
/// it would use); `run list` prints the run id in `$FAKE_GH/run` (nothing when there is none) or
/// fails with `$FAKE_GH/error`, as gh does on a 403; `run download RUN -n NAME -D DIR` copies
/// `$FAKE_GH/artifacts/RUN/NAME/` into DIR, or fails with gh's message when there is no such
/// artifact (expired, never kept).
pub const GH: &str = r#"#!/usr/bin/env bash
set -euo pipefail
printf 'GH_TOKEN=%s GH_REPO=%s\n%s\n' "${GH_TOKEN:-}" "${GH_REPO:-}" "$*" >>"$FAKE_GH/calls"
case "$1 $2" in
  "run list")
    if [ -f "$FAKE_GH/error" ]; then cat "$FAKE_GH/error" >&2; exit 1; fi
    cat "$FAKE_GH/run" 2>/dev/null || true
    ;;
  "run download")
    run=$3 name="" dir=""
    shift 3
    while [ $# -gt 0 ]; do
      case $1 in
        -n) name=$2; shift 2 ;;
        -D) dir=$2; shift 2 ;;
        *) echo "fake gh: unexpected argument $1" >&2; exit 2 ;;
      esac
    done
    if [ ! -d "$FAKE_GH/artifacts/$run/$name" ]; then
      echo "no valid artifacts found to download" >&2
      exit 1
    fi
    mkdir -p "$dir"
    cp -R "$FAKE_GH/artifacts/$run/$name/." "$dir/"
    ;;
  *) echo "fake gh: unexpected command $*" >&2; exit 2 ;;
esac
"#;

/// `curl` as ci/baseline-compare.sh calls it on GitLab. Records the header and URL; writes
/// `$FAKE_CURL/artifact` to `--output` and prints 200, or GitLab's 404 body and 404.
pub const CURL: &str = r#"#!/usr/bin/env bash
set -euo pipefail
out="" url="" header=""
while [ $# -gt 0 ]; do
  case $1 in
    --output) out=$2; shift 2 ;;
    --header) header=$2; shift 2 ;;
    --write-out) [ "$2" = '%{http_code}' ] || { echo "fake curl: --write-out $2" >&2; exit 2; }; shift 2 ;;
    --silent | --show-error | --location) shift ;;
    -*) echo "fake curl: unexpected option $1" >&2; exit 2 ;;
    *) url=$1; shift ;;
  esac
done
printf '%s\n%s\n' "$header" "$url" >>"$FAKE_CURL/calls"
if [ -f "$FAKE_CURL/artifact" ]; then
  cp "$FAKE_CURL/artifact" "$out"
  printf 200
else
  printf '{"message":"404 Not found"}' >"$out"
  printf 404
fi
"#;
