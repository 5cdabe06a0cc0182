#!/usr/bin/env bash
# The root Dockerfile's build sequence, run without Docker (the project's machines have no
# engine): every RUN command of the stage named `build`, in order, from the repository root
# (that stage's WORKDIR /src holds `COPY . .`, the repository), then the final stage's
# `COPY --from=build` sources must exist and the copied `gauntlet` must run. So a Dockerfile
# whose cargo command, profile or paths are wrong fails CI here, not first on a user's machine.
# `--print` lists the commands without running them.
set -euo pipefail
cd "$(dirname "$0")/.."
dockerfile=Dockerfile

# The Dockerfile's logical lines (backslash continuations joined), without comments.
logical_lines() {
  awk '/^[[:space:]]*#/ { next }
       { line = line $0 }
       /\\$/ { sub(/\\$/, "", line); next }
       { print line; line = "" }' "$dockerfile"
}

mapfile -t runs < <(logical_lines | awk '
  toupper($1) == "FROM" { in_build = (tolower($NF) == "build" && toupper($(NF-1)) == "AS") ; next }
  in_build && toupper($1) == "RUN" { sub(/^[[:space:]]*RUN[[:space:]]+/, ""); print }')
mapfile -t copies < <(logical_lines | awk '
  toupper($1) == "COPY" && $2 == "--from=build" { for (i = 3; i < NF; i++) print $i }')
((${#runs[@]} > 0)) || { echo "check-dockerfile: no RUN in a stage named build in $dockerfile" >&2; exit 1; }
((${#copies[@]} > 0)) || { echo "check-dockerfile: no COPY --from=build in $dockerfile" >&2; exit 1; }

if [ "${1:-}" = --print ]; then
  printf 'RUN %s\n' "${runs[@]}"
  printf 'COPY --from=build %s\n' "${copies[@]}"
  exit 0
fi

# The image builds into /src/target; so does this (whatever CARGO_TARGET_DIR says elsewhere).
unset CARGO_TARGET_DIR
for command in "${runs[@]}"; do
  echo "check-dockerfile: RUN $command"
  start=$SECONDS
  bash -euo pipefail -c "$command"
  echo "check-dockerfile: done in $((SECONDS - start)) s"
done
for source in "${copies[@]}"; do
  path=${source#/src/}
  [ -e "$path" ] || { echo "check-dockerfile: COPY --from=build $source: $path was not built" >&2; exit 1; }
  echo "check-dockerfile: $source -> $(du -h "$path" | cut -f1) ($path)"
done
