#!/usr/bin/env bash
# The baseline gate of a CI job: fetch the report that the base branch's latest successful
# pipeline kept, compare this run's report with it (`gauntlet compare`), append the Markdown
# comparison to the job summary, and exit as the gate decided.
#
#   bash ci/baseline-compare.sh github   # a GitHub Actions job (the composite action.yml calls it)
#   bash ci/baseline-compare.sh gitlab   # a GitLab CI job (ci/gitlab/gauntlet.gitlab-ci.yml)
#
# This is the one copy of the fetch-and-compare logic: action.yml and the GitLab job call it,
# and cli/tests/it/workflows.rs runs it (through them) against a fake `gh` and `curl`.
#
# Exit codes (docs/ci.md): 0 no regression, or no baseline to compare with (the summary says
# so: the base branch has no successful run with a kept report yet, or it expired); 1 a
# regression; 2 invalid input, as `gauntlet compare` (an unreadable report, runs of different
# scenarios or plans) or a usage mistake here; 3 the baseline could not be looked up (gh or the
# API failed for another reason than there being none). Anything but 0 should fail the job.
#
# Environment:
#   GAUNTLET_REPORT        this run's report (default report.json); on GitLab also the path of
#                          the baseline inside the base branch job's artifacts
#   GAUNTLET_BASELINE      GitHub: the artifact holding the baseline (default gauntlet-report);
#                          GitLab: the job whose artifacts hold it (default: this job)
#   GAUNTLET_BASE_BRANCH   the branch whose report is the baseline (default: the pull request's
#                          base branch; on GitLab the merge request's target, else the default)
#   GAUNTLET_TOLERANCE     `gauntlet compare --tolerance` values, space-separated: "p99=15% p50=10%"
#   GAUNTLET_COMPARE_ARGS  more `gauntlet compare` arguments, space-separated (e.g. --force)
#   GAUNTLET_SUMMARY       the Markdown file to append to (default: $GITHUB_STEP_SUMMARY on
#                          GitHub, comparison.md on GitLab)
# and the CI system's own: GH_TOKEN, GITHUB_WORKFLOW_REF, GITHUB_BASE_REF, GITHUB_SERVER_URL,
# GITHUB_REPOSITORY, GITHUB_OUTPUT; CI_API_V4_URL, CI_PROJECT_ID, CI_PROJECT_URL, CI_JOB_TOKEN,
# CI_JOB_NAME, CI_DEFAULT_BRANCH, CI_MERGE_REQUEST_TARGET_BRANCH_NAME.
set -euo pipefail

platform=${1:-}
report=${GAUNTLET_REPORT:-report.json}
case $platform in
  github) summary=${GAUNTLET_SUMMARY:-${GITHUB_STEP_SUMMARY:-}} ;;
  gitlab) summary=${GAUNTLET_SUMMARY:-comparison.md} ;;
  *)
    echo "usage: baseline-compare.sh github|gitlab (see the comment at its top)" >&2
    exit 2
    ;;
esac
if [ -z "$summary" ]; then
  echo "baseline-compare: no summary file: set GAUNTLET_SUMMARY (or GITHUB_STEP_SUMMARY)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The comparison's outcome as an output of the GitHub step (the action's `comparison`).
outcome() {
  if [ "$platform" = github ] && [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "comparison=$1" >>"$GITHUB_OUTPUT"
  fi
}

# A GitHub annotation on the run (error or warning); `%` and line breaks are escaped as the
# workflow command syntax requires. Nothing on GitLab, which has no such thing.
annotate() {
  local message=${2//%/%25}
  message=${message//$'\n'/%0A}
  [ "$platform" != github ] || echo "::$1 title=gauntlet baseline::$message"
}

# An error that stops the gate: in the job log, as a GitHub annotation, and in the summary, so
# that a gate that could not compare never looks like one that passed.
fail() {
  local code=$1 message=$2
  echo "baseline-compare: $message" >&2
  annotate error "$message"
  printf '**The comparison with the baseline failed** (exit %s): %s\n\n' "$code" "$message" >>"$summary"
  outcome error
  exit "$code"
}

# Nothing to compare with is not a failure (the first run on a branch, an expired artifact),
# but it is said out loud: a gate that never compares must not pass unnoticed.
no_baseline() {
  local why=$1
  echo "baseline-compare: no baseline: $why"
  annotate warning "no baseline to compare with: $why"
  printf '**No baseline to compare with**: %s. Nothing was compared; the gate passes. The base branch keeps a baseline once one of its runs succeeds (docs/ci.md).\n\n' "$why" >>"$summary"
  outcome no-baseline
  exit 0
}

# Percent-encodes a value for one URL path segment or query value (a branch like release/2.1).
urlencode() {
  # Byte by byte: a multi-byte character becomes its UTF-8 bytes, each percent-encoded.
  local LC_ALL=C s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}

baseline_dir="$work/baseline"
baseline="$baseline_dir/$(basename "$report")"

fetch_github() {
  local branch=${GAUNTLET_BASE_BRANCH:-${GITHUB_BASE_REF:-}}
  local artifact=${GAUNTLET_BASELINE:-gauntlet-report}
  local workflow run_id
  [ -n "$branch" ] || fail 2 "no base branch: GITHUB_BASE_REF is set for pull requests only; set GAUNTLET_BASE_BRANCH"
  # owner/repo/.github/workflows/gauntlet.yml@refs/pull/7/merge -> gauntlet.yml: the file name,
  # which unlike the workflow's display name is unique in the repository.
  workflow=${GITHUB_WORKFLOW_REF:?GITHUB_WORKFLOW_REF is not set}
  workflow=${workflow%@*}
  workflow=${workflow##*/}
  # --event push: a pull request from a fork's branch that is also named main is a run "on
  # main" too, and must not become the baseline.
  run_id=$(gh run list --workflow "$workflow" --branch "$branch" --event push --status success \
    --limit 1 --json databaseId --jq '.[0].databaseId // empty') ||
    fail 3 "gh run list failed (the job needs permissions: actions: read and GH_TOKEN)"
  [ -n "$run_id" ] || no_baseline "no successful push run of $workflow on $branch yet"
  # The run was found, so a failed download means the artifact is not there: expired, or that
  # run did not keep it. gh says which; its message goes to the summary.
  if ! gh run download "$run_id" -n "$artifact" -D "$baseline_dir" 2>"$work/gh.err"; then
    no_baseline "run $run_id on $branch has no artifact $artifact ($(tr '\n' ' ' <"$work/gh.err" | sed 's/ *$//'))"
  fi
  [ -f "$baseline" ] || no_baseline "artifact $artifact of run $run_id on $branch has no $(basename "$report")"
  source_text="\`$(basename "$report")\` of [run $run_id](${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/$run_id) on \`$branch\` (artifact \`$artifact\`)"
}

fetch_gitlab() {
  local branch=${GAUNTLET_BASE_BRANCH:-${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-${CI_DEFAULT_BRANCH:-}}}
  local job=${GAUNTLET_BASELINE:-${CI_JOB_NAME:-}}
  local url status
  [ -n "$branch" ] || fail 2 "no base branch: set GAUNTLET_BASE_BRANCH"
  [ -n "$job" ] || fail 2 "no job to take the baseline from: set GAUNTLET_BASELINE"
  # The artifact file of that job in the latest successful pipeline of the branch. The job token
  # may read its own project's artifacts on every tier.
  url="${CI_API_V4_URL:?}/projects/${CI_PROJECT_ID:?}/jobs/artifacts/$(urlencode "$branch")/raw/$report?job=$(urlencode "$job")"
  mkdir -p "$baseline_dir"
  # --location: GitLab.com may redirect an artifact download through its CDN.
  status=$(curl --silent --show-error --location --header "JOB-TOKEN: ${CI_JOB_TOKEN:?}" \
    --output "$baseline" --write-out '%{http_code}' "$url") ||
    fail 3 "cannot download $url (curl exit $?)"
  case $status in
    200) ;;
    404) no_baseline "no successful pipeline on $branch kept $report in job $job (none yet, or it expired)" ;;
    *) fail 3 "GET $url answered $status: $(head -c 300 "$baseline" 2>/dev/null)" ;;
  esac
  source_text="\`$report\` of job \`$job\` in the latest successful pipeline on \`$branch\` (${CI_PROJECT_URL:-}/-/jobs/artifacts/$(urlencode "$branch")/browse?job=$(urlencode "$job"))"
}

[ -f "$report" ] || fail 2 "no report at $report: the run wrote none"
"fetch_$platform"

tolerances=()
read -ra words <<<"${GAUNTLET_TOLERANCE:-}"
for t in "${words[@]}"; do tolerances+=(--tolerance "$t"); done
read -ra extra <<<"${GAUNTLET_COMPARE_ARGS:-}"

code=0
gauntlet compare "$baseline" "$report" --format md "${tolerances[@]}" "${extra[@]}" >"$work/compare.md" 2>"$work/compare.err" || code=$?
# compare's own message (which report, what is wrong) stays in the job log.
cat "$work/compare.err" >&2
case $code in
  0 | 1)
    {
      printf '**Baseline**: %s\n\n' "$source_text"
      cat "$work/compare.md"
      echo
    } >>"$summary"
    cat "$work/compare.md"
    ;;
  *)
    message="gauntlet compare exit $code: $(tr '\n' ' ' <"$work/compare.err" | sed 's/ *$//')"
    # Runs of different scenarios or plans: compare's message names --force; say where it goes.
    if grep -q -- --force "$work/compare.err"; then
      message+=" (in CI: the action's compare-args input, or GAUNTLET_COMPARE_ARGS)"
    fi
    fail "$code" "$message"
    ;;
esac
if [ "$code" = 1 ]; then
  regressions=$(grep '^REGRESSIONS:' "$work/compare.md" || echo "REGRESSIONS")
  annotate error "$regressions (against the baseline on the base branch)"
  outcome regression
  exit 1
fi
outcome no-regression
