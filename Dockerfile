# agproxy in a container: the Linux binary of `npm run build` (or of a release, put in dist/) on a minimal base,
# run as a non-root user, its data (generated key, request store) in the /data volume, LAN access on, a key required.
#
#   npm run build -- --target linux-x64,linux-arm64      # or download a release's agproxy-linux-* into dist/
#   docker build -t agproxy .
#   docker run -d --name agproxy -p 8045:8045 -v agproxy-data:/data \
#     -e AGPROXY_API_KEYS=sk-choose-a-long-key -e GEMINI_API_KEY=your-gemini-key agproxy
#
# Settings: AGPROXY_* and provider key variables (-e), or a config file mounted at /etc/agproxy/agproxy.yaml
# (-v "$PWD/agproxy.yaml:/etc/agproxy/agproxy.yaml:ro"). Without AGPROXY_API_KEYS (or api_keys in the file) a key is
# generated into /data/api_key and printed once in the log: docker logs agproxy.

FROM debian:bookworm-slim AS stage
# set per platform by docker buildx (amd64, arm64); the classic builder leaves it empty (amd64)
ARG TARGETARCH
COPY dist/ /dist/
RUN set -eu; \
    case "${TARGETARCH:-amd64}" in \
      amd64) f=agproxy-linux-x64 ;; \
      arm64) f=agproxy-linux-arm64 ;; \
      *) echo "agproxy has no Linux binary for ${TARGETARCH}" >&2; exit 1 ;; \
    esac; \
    test -f "/dist/$f" || { echo "dist/$f is missing: run npm run build -- --target ${f#agproxy-} first" >&2; exit 1; }; \
    install -m 755 "/dist/$f" /agproxy; \
    mkdir -p /data /etc/agproxy

# glibc and libstdc++ (what the Bun runtime in the binary needs), no shell; user nonroot, numeric so Kubernetes can check runAsNonRoot
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=stage /agproxy /usr/local/bin/agproxy
COPY --from=stage --chown=65532:65532 /data /data
COPY --from=stage /etc/agproxy /etc/agproxy
ENV AGPROXY_DATA_DIR=/data \
    AGPROXY_ALLOW_LAN_ACCESS=true \
    HOME=/data
# ./agproxy.yaml is read from here when mounted
WORKDIR /etc/agproxy
VOLUME ["/data"]
EXPOSE 8045
USER 65532:65532
# /healthz needs no key (auth_mode auto with LAN access is all_except_health); `agproxy health` asks it. (No
# --start-period: dockerfilelint 1.8 misreads options with a hyphen; agproxy starts in well under the 30 s interval.)
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["/usr/local/bin/agproxy", "health"]
ENTRYPOINT ["/usr/local/bin/agproxy"]
