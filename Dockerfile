# syntax=docker/dockerfile:1
#
# tierguard image: the webhook service (`tierguard serve`) by default; any other subcommand
# works too (`docker run … tierguard-image lint /src`).
#
# Hardened like the runners tierguard guards: distroless runtime (no shell, no package
# manager), numeric non-root user, only production dependencies, nothing writable but /tmp.
#   docker run --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
#     -e GITLAB_URL -e GITLAB_TOKEN -e WEBHOOK_SECRET -p 8080:8080 tierguard
#
# Base images: the defaults below are tags, so a local `docker build .` just works. The
# release pipeline (.gitlab-ci.yml, job image-publish) resolves each tag to its current
# digest and passes the pinned reference as a build arg (NODE_IMAGE=node:24-bookworm-slim@sha256:…),
# so a release is reproducible and says exactly what it was built from.
# Build and runtime stages share Debian 12 (glibc) and Node 24 (the current LTS).

ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# --- build: compile TypeScript to dist/, bundle the CLI into dist/bundle/ ----------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) needs the sources, which are not copied yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-cli.mjs scripts/yaml-push.mjs ./scripts/
COPY src ./src
RUN npm run build

# --- prod-deps: production dependencies only, no lifecycle scripts ---------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# OCI annotations; the release pipeline passes the real version, commit and project URL.
ARG RUNTIME_IMAGE
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=https://gitlab.com/tierguard/tierguard
LABEL org.opencontainers.image.title="tierguard" \
      org.opencontainers.image.description="GitLab merge-request bot guarding CI runner trust tiers" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    POLICY_DIR=/app/policies
# Files stay owned by root and read-only for the service user: the process cannot modify
# its own code or policy, with or without a read-only root filesystem.
COPY package.json ./
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY policies ./policies
COPY docs ./docs
# 65532 is distroless's "nonroot"; numeric so Kubernetes runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080
# No shell in the image: the check is Node itself (fetch is built in), exec form.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/tierguard.js"]
CMD ["serve"]
