# Build: docker build -t hamlet .   (or `docker compose up --build`)

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/hamlet --shell /usr/sbin/nologin hamlet
COPY --from=builder /src/target/release/hamlet /usr/local/bin/hamlet
# The seed files sit beside the working directory so `hamlet seed` finds them;
# the working directory is writable so the default SQLite database can live there.
COPY --from=builder --chown=hamlet:hamlet /src/seed /var/lib/hamlet/seed
WORKDIR /var/lib/hamlet
USER hamlet
ENV HAMLET_BIND=0.0.0.0:8080
EXPOSE 8080
CMD ["hamlet", "serve"]
