# Mosis Portal: one container, SQLite + packages on the /data volume by default.
# Build stage: compiles TypeScript and better-sqlite3 (from source, so it needs a toolchain).
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: only the compiled server and its production dependencies.
FROM node:20-bookworm-slim
ENV NODE_ENV=production DATA_DIR=/data PORT=8080 HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY docs ./docs
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM from `docker stop` lets in-flight uploads finish before the database closes.
STOPSIGNAL SIGTERM
# The heap flags as `npm start` has them (docs/operations.md, memory): V8 collects a 512 MiB heap
# at a lower growth and keeps a small young generation; raise the first with STORE_CACHE_MB.
CMD ["node", "--max-old-space-size=512", "--max-semi-space-size=4", "dist/main.js", "serve"]
