# sandbox-storage-webhook image: compiled JavaScript and production dependencies only, run as a non-root user.
# Build: docker build -t sandbox-storage-webhook:dev .
# test/integration/packaged-install.test.ts runs the same steps without Docker (npm pack, production install, entrypoint).

# The current Node LTS, pinned exactly (the same version package.json pins for development); pin the digest too
# when publishing: node:24.21.0-bookworm-slim@sha256:...
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm pack compiles (the prepack script) and keeps exactly what package.json "files" publishes: dist/src,
# package.json, README, LICENSE.
RUN npm pack --pack-destination /tmp \
 && mkdir /app \
 && tar -xzf /tmp/sandbox-storage-webhook-*.tgz -C /app --strip-components=1 \
 && cp package-lock.json /app/

FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY --from=build /app ./
# Lockfile-exact production dependencies; no install scripts run.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the runtime user; the chart also mounts the root filesystem read-only.
COPY --from=production-dependencies --chown=0:0 /app ./
# A numeric user, so runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
EXPOSE 8443
# Node runs as PID 1 without an init: it gets no default signal handlers there, so the server handles SIGTERM
# and SIGINT itself (stop accepting, finish in-flight admissions, exit 0). It starts no child processes to reap.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["serve", "--tls-cert-file=/var/run/sandbox-storage/tls/tls.crt", "--tls-key-file=/var/run/sandbox-storage/tls/tls.key"]
