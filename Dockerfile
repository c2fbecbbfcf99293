# syntax=docker/dockerfile:1
# One image for both roles: `api` and `worker` (see docker-compose.yml).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:web

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/src ./src
COPY --from=build /app/tsconfig.json ./
USER node
ENV HOST=0.0.0.0 PORT=3000
# V8's young generation (src/roles/young-generation.ts): 16 MiB a semi-space for a worker;
# an API process runs with 8 (docker-compose.yml sets it for its api service).
ENV NODE_OPTIONS=--max-semi-space-size=16
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "--import", "tsx", "src/main.ts"]
CMD ["api"]
