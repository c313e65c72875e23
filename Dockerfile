# The API tier: four Fastify instances under pm2-runtime (ecosystem.config.js).
# Builds with BuildKit (docker compose) and with the classic builder (docker-compose
# 1.29, Debian's docker.io). No `# syntax=` line: BuildKit would fetch that frontend
# image from a registry.

# The base image. docker-compose.test.yml swaps in a local stand-in (no registry).
ARG NODE_IMAGE=node:20.20-bookworm-slim

# Build with the dev dependencies (esbuild)... The image runs dist/server.js only (the
# esbuild bundle, with its source map and licence file): the bundle alone is built, not
# `npm run build`, whose tsc would emit the lab too and type-check all of src/ (npm
# test's job) at every change of src/. tsconfig.json: esbuild reads its settings (the
# bundle differs without it).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY scripts/bundle-server.js ./scripts/
COPY src ./src
RUN node scripts/bundle-server.js

# ...run with the production dependencies only, as a non-root user.
FROM ${NODE_IMAGE} AS run
ENV NODE_ENV=production
# Reachable from the balancer's container (outside a container the default is 127.0.0.1).
ENV HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY ecosystem.config.js ./
USER node
# The instances listen on 3001..3004 (INSTANCES and API_BASE_PORT in docker-compose.yml).
EXPOSE 3001 3002 3003 3004
# pm2-runtime keeps PM2 in the foreground, forwards SIGTERM to the apps (each
# drains within SHUTDOWN_GRACE_MS, below kill_timeout) and streams their logs.
CMD ["node_modules/.bin/pm2-runtime", "ecosystem.config.js"]
