# keyquarry server image: `docker build -t keyquarry:dev .`
# The build steps are the README's "Release build" steps (a test keeps them identical).

FROM swift:6.3-bookworm AS builder
RUN apt-get update && apt-get install -y --no-install-recommends libsqlite3-dev libre2-dev zlib1g-dev
WORKDIR /src
COPY . .
RUN swift build -c release --product keyquarry --static-swift-stdlib
RUN strip .build/release/keyquarry

FROM debian:bookworm-slim
# The Swift runtime is linked in; SQLite, RE2, zlib and the C++ runtime are the system's.
# curl is for the container health check.
RUN apt-get update \
  && apt-get install -y --no-install-recommends libsqlite3-0 libre2-9 zlib1g libstdc++6 ca-certificates tzdata curl \
  && rm -rf /var/lib/apt/lists/* \
  && useradd --system --create-home --home-dir /var/lib/keyquarry keyquarry
COPY --from=builder /src/.build/release/keyquarry /usr/local/bin/keyquarry
USER keyquarry
WORKDIR /var/lib/keyquarry
# gRPC, monitor (metrics and health), REST gateway.
EXPOSE 33969 33970 33971
ENV KEYQUARRY_LISTEN_ADDRESS=0.0.0.0:33969 \
    KEYQUARRY_MONITOR_ADDRESS=0.0.0.0:33970 \
    KEYQUARRY_HTTP_ADDRESS=0.0.0.0:33971
ENTRYPOINT ["keyquarry"]
CMD ["serve"]
