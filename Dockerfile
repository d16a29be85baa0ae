# syntax=docker/dockerfile:1
# nuzantara image: the seven nz-* binaries on debian:bookworm-slim.
#
# Two stages. "build" installs tools/deps.sh's `build` set (compiler and the
# -dev libraries) and runs `make -j2 && make install`; the final stage
# installs tools/deps.sh's `runtime` set (only the shared libraries the
# binaries load, ca-certificates, and curl for the HEALTHCHECK) and copies
# /usr/local/bin from the first. Both package lists live in tools/deps.sh
# only, so the image and `make deps` cannot drift apart.
#
# BUILD_IMAGE / RUNTIME_IMAGE default to Docker Hub's Debian 12 images (what
# Fly's builder uses); tools/image.sh passes locally imported ones instead.
#
#   docker build -t nuzantara .
#   docker run -p 8000:8000 -v nz-data:/data nuzantara             # nz-serve
#   docker run -v nz-data:/data nuzantara nz-pipeline run DIR|URL  # ingest
ARG BUILD_IMAGE=debian:bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY tools/deps.sh tools/deps.sh
RUN sh tools/deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make -j2 && make install DESTDIR=/out PREFIX=/usr/local

FROM ${RUNTIME_IMAGE}
COPY tools/deps.sh /tmp/deps.sh
RUN sh /tmp/deps.sh runtime && rm -rf /var/lib/apt/lists/* /tmp/deps.sh \
    && groupadd --system --gid 10001 nz \
    && useradd --system --uid 10001 --gid nz --home-dir /data --no-create-home nz \
    && mkdir -p /data && chown nz:nz /data
COPY --from=build /out/usr/local/bin/ /usr/local/bin/
ENV INDEX_PATH=/data/index \
    PORT=8000
VOLUME ["/data"]
WORKDIR /data
USER nz:nz
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT}/health" >/dev/null || exit 1
CMD ["nz-serve"]
