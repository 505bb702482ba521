# Multi-stage build of PromoHub's two programs: promohub (the server) and promohub-sandbox.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p promohub-graphql -p promohub-sandbox

FROM debian:bookworm-slim
# curl serves the compose healthchecks; ca-certificates lets promohub reach real providers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/promohub /usr/local/bin/promohub
COPY --from=build /src/target/release/promohub-sandbox /usr/local/bin/promohub-sandbox
USER nobody
EXPOSE 8080 9100
# `serve` needs a configured provider (docker-compose.yml points it at the sandbox service);
# `promohub demo` runs with in-process sandboxes instead.
CMD ["promohub", "serve"]
