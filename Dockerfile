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
# The seed is built into the binary. The working directory is writable so the
# default SQLite database can live there when no PostgreSQL URL is given.
WORKDIR /var/lib/hamlet
USER hamlet
ENV HAMLET_BIND=0.0.0.0:8080
EXPOSE 8080
CMD ["hamlet", "serve"]
