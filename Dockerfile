# Mosis Portal: one container. SQLite and the keys on /data, packages on /packages, snapshots on
# /backups (three volumes, so a NAS can put each on the share it wants).
#
# Build for the NAS's architecture, or for both at once (docs/operations.md, Synology):
#   docker build -t mosis-portal:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -t registry.example.com/mosis-portal:0.1.0 --push .
# Nothing below names an architecture: every stage runs on the target platform (emulated when it
# is not the builder's), so better-sqlite3 is the binary its install step fetches for that
# platform or, failing that, compiles there; sharp and argon2 come as npm optional dependencies of
# each platform, listed in package-lock.json. Litestream's is there for linux-x64 only: on arm64
# `replicate` warns that it has no Litestream and serves without it (docs/litestream.md).
#
# Every stage is on the same Node image: the native modules the deps stage installs are built
# for the Node ABI the runtime runs. Node 22 (LTS): CI runs the whole suite on it (.ci/run).
# test/process/production-install.test.ts does what the deps and runtime stages do, and starts CMD.

# Build stage: every dependency, then `npm run build`: the server bundled into dist/
# (scripts/build-server.ts), the docs site into dist/docs-site (from docs/, README.md and scripts/)
# and the web UI into dist/web (from web/, with its API client generated from the portal's routes). It gets the whole build context, which
# .dockerignore keeps to sources: whatever the build comes to read, it finds.
FROM node:22-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# The npm workspaces' manifests (the API client and the CLI, packages/), which `npm ci` links.
COPY packages/api-client/package.json packages/api-client/
COPY packages/cli/package.json packages/cli/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only, installed on their own rather than pruned from the build's, so no
# dev dependency and no compiler output of one reaches the image. The toolchain is for
# better-sqlite3 when no prebuilt binary can be fetched for the platform.
FROM node:22-bookworm-slim AS deps
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --workspaces=false: the server's dependencies only; the CLI and the API client are bundled at build time.
RUN npm ci --omit=dev --workspaces=false --prefer-offline --no-audit --no-fund

# Runtime: the built server (and docs site, web UI), its production dependencies, tini; no compiler,
# no sources, no npm cache.
FROM node:22-bookworm-slim
# tini is PID 1: it hands SIGTERM from `docker stop` to Node (which then lets uploads in flight
# finish, SHUTDOWN_TIMEOUT_MS) and reaps the children (Litestream, the portal under `replicate`).
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production DATA_DIR=/data PACKAGES_DIR=/packages BACKUPS_DIR=/backups PORT=8080 HOST=0.0.0.0
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The user `node` (uid 1000) of the base image owns the state; a bind mount must be writable by it
# (or run the container as the folder owner's uid:gid, `user:` in docker-compose.yml).
RUN mkdir -p /data /packages /backups && chown node:node /data /packages /backups && chmod 0700 /data /packages /backups
USER node
VOLUME ["/data", "/packages", "/backups"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
# `replicate`: Litestream (from node_modules) streams the SQLite database to its replica, and the
# portal runs under it with npm start's heap flags (docs/operations.md, Memory). Without
# Litestream, serve directly (the command: of docker-compose.yml, or after the image name):
#   node --max-old-space-size=512 --max-semi-space-size=4 dist/main.js serve
CMD ["node", "dist/main.js", "replicate"]
