# syntax=docker/dockerfile:1
# The tessera service image (issue 15). Three stages:
#   deps     the production dependencies only, exactly as package-lock.json pins them
#            (npm ci --omit=dev). better-sqlite3's install script fetches a prebuilt binding
#            or compiles one; the full node image has python3, make and g++ for the latter.
#   build    every dependency, then `npm run build`: dist/ and the single-file guest agent.
#   runtime  node's slim image of the same Debian release and Node major version (the
#            binding's ABI), holding bin/, dist/, package.json and the production node_modules,
#            run by an unprivileged user. Nothing is installed or compiled in this stage, and
#            the service writes nothing outside /var/lib/tessera (SQLite), so the root file
#            system can be mounted read-only; SQLite spills sorts larger than its cache to a
#            temporary file in /var/tmp or /tmp, so give it a tmpfs there. With PostgreSQL
#            (TESSERA_DATABASE_URL) it writes nothing at all.
# Not built on the machines this project is developed on (no container engine runs there);
# test/build/dockerfile.test.ts lints it, and test/build/pack-install.test.ts runs the
# same layout (the package installed with --omit=dev) on a read-only root as a non-root user.
#
#   docker build -t tessera:0.1.0 .
#   docker run --read-only --tmpfs /tmp -p 8080:8080 -e TESSERA_KEK -v tessera-data:/var/lib/tessera tessera:0.1.0
#
# Pin the base images by digest (node:20-bookworm@sha256:...) for reproducible builds.

ARG NODE_BUILD_IMAGE=node:20-bookworm
ARG NODE_RUNTIME_IMAGE=node:20-bookworm-slim

FROM ${NODE_BUILD_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: the build needs typescript and esbuild (whose binary comes as an optional
# dependency package), not the native SQLite binding or the embedded PostgreSQL of the tests.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_RUNTIME_IMAGE} AS runtime
# A system account of its own, without home or login shell. The numeric ids are what
# Kubernetes' runAsNonRoot checks (deploy/kubernetes/deployment.yaml runs as the same ids).
RUN groupadd --system --gid 10001 tessera \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin tessera \
 && mkdir -p /var/lib/tessera \
 && chown 10001:10001 /var/lib/tessera \
 && chmod 0700 /var/lib/tessera
WORKDIR /opt/tessera
# Owned by root and read-only to the service's user: the code cannot be changed by the process running it.
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
ENV NODE_ENV=production \
    TESSERA_HOST=0.0.0.0 \
    TESSERA_PORT=8080 \
    TESSERA_DATA_DIR=/var/lib/tessera
USER 10001:10001
VOLUME ["/var/lib/tessera"]
EXPOSE 8080
# The slim image has no curl or wget: node asks /healthz itself, on the port the service listens on.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.TESSERA_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node as PID 1 is fine here: the service handles SIGTERM itself (drains, then exits) and
# starts no child processes to reap.
ENTRYPOINT ["node", "/opt/tessera/bin/tessera.js", "serve"]
