# syntax=docker/dockerfile:1
# XRouter gateway image. Build: docker build -t xrouter:0.1.0 .
# Runs the gateway (and, with no provider credentials, its bundled emulators) as the non-root user node (uid 1000);
# works with a read-only root filesystem given writable /tmp and DATA_DIR (the Helm chart mounts emptyDirs there).

# --- build: install everything, compile both apps, then drop the dev dependencies --------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm install, not npm ci: this repository's lockfile records only the optional platform binaries (@swc/core-*) of the
# machine that wrote it, which npm ci rejects as out of sync on another platform. npm install still installs the
# locked versions. argon2 ships prebuilt binaries for linux x64/arm64, so no compiler is needed.
RUN --mount=type=cache,target=/root/.npm \
    npm install --no-audit --no-fund --loglevel=error
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build \
 && test -f dist/apps/gateway/src/main.js \
 && test -f dist/apps/provider-emulator/src/main.js \
 && test -f dist/libs/database/src/migrate.js \
 && npm prune --omit=dev --no-audit --no-fund --loglevel=error

# --- runtime: only what runs ---------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080
WORKDIR /app
# Owned by root and read-only to the app user; only data/ (the embedded database, outside Kubernetes) is writable.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
RUN mkdir -p /app/data && chown node:node /app/data
# The image's non-root user (uid 1000, gid 1000); the chart also sets runAsUser: 1000 so runAsNonRoot can be verified.
USER node
EXPOSE 8080
# No HEALTHCHECK: Kubernetes probes /health/live and /health/ready. `node dist/libs/database/src/migrate.js` applies
# the migrations and exits (the chart's hook Job).
CMD ["node", "dist/apps/gateway/src/main.js"]
