# The gauntlet command in an image: `gauntlet` is the entrypoint, run as uid/gid 65532
# (non-root), working directory /work. Built with the `dist` profile (fat LTO, one codegen unit:
# the fastest generator, docs/design-decisions.md "Build profiles"). From the repository root:
#   docker build -t gauntlet .
#   docker run --rm --network host -v "$PWD:/work" gauntlet run scenarios/smoke.toml --out report.json
# ci/check-dockerfile.sh runs this file's build-stage RUN commands in CI (no Docker engine on the
# project's machines), so the build sequence below is exercised even where the image is not.

FROM rust:1.95-trixie AS build
WORKDIR /src
COPY . .
RUN cargo build --profile dist --locked -p gauntlet-cli --bin gauntlet
RUN strip target/dist/gauntlet && target/dist/gauntlet --version

# Debian slim rather than distroless: the Kubernetes shard Job (ci/k8s/) computes its shard
# number with `sh`. (No CA bundle yet: the client speaks cleartext HTTP/1.1 and h2c only.)
FROM debian:trixie-slim
RUN groupadd --gid 65532 gauntlet \
 && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin gauntlet \
 && mkdir /work && chown 65532:65532 /work
COPY --from=build /src/target/dist/gauntlet /usr/local/bin/gauntlet
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["gauntlet"]
CMD ["--help"]
