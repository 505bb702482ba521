# Multi-stage build of the PromoHub binaries (server and provider sandbox).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p promohub-graphql -p promohub-sandbox

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/promohub /usr/local/bin/promohub
COPY --from=build /src/target/release/promohub-sandbox /usr/local/bin/promohub-sandbox
USER nobody
EXPOSE 8080
CMD ["promohub", "serve"]
