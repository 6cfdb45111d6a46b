# One image, three commands: api, worker, fabsync (CLI). Build: docker build -t fabsync .
# Run: docker run -p 127.0.0.1:8080:8080 -e FABSYNC_API_TOKEN=... -e REDIS_URL=... \
#        -v "$PWD/config:/etc/fabsync:ro" fabsync
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/api ./cmd/worker ./cmd/fabsync

FROM debian:bookworm-slim
# git is only needed for file:// remotes; https:// and ssh:// are handled in-process by go-git.
# A fixed, unprivileged uid, so that mounted secret files can be made readable to it.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 fabsync \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /var/lib/fabsync fabsync
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
WORKDIR /var/lib/fabsync
# Inside the container the API listens on every interface, so that a published port
# (docker run -p, compose "ports") reaches it; which interfaces of the host it is reachable on
# is decided there: publish on 127.0.0.1 unless a token guards it (see docker-compose.yml).
ENV FABSYNC_LISTEN=0.0.0.0:8080 FABSYNC_DATA_DIR=/var/lib/fabsync/data FABSYNC_CONFIG=/etc/fabsync/fabsync.yaml
EXPOSE 8080
CMD ["api"]
