# One image, three commands: api, worker and fabsync (the CLI), static binaries in /usr/local/bin
# on an empty base (no shell, no package manager, no git). The same image runs in
# docker-compose.yml and in the Helm chart (deploy/helm/fabsync).
#   Build:  docker build -t fabsync .
#   API:    docker run -p 127.0.0.1:8080:8080 -e FABSYNC_API_TOKEN=... -e REDIS_URL=... \
#             -v "$PWD/config:/etc/fabsync:ro" fabsync
#   Worker: docker run -e REDIS_URL=... -v "$PWD/config:/etc/fabsync:ro" fabsync worker
#   CLI:    docker run --rm -e FABSYNC_SERVER=... -e FABSYNC_API_TOKEN=... fabsync fabsync fabrics
# No Docker engine runs on our build machines: this file is checked by reading it
# (internal/e2e/compose_test.go), not by building it.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: static binaries that need no libc.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w -buildid=" \
        -o /rootfs/usr/local/bin/ ./cmd/api ./cmd/worker ./cmd/fabsync
# The rest of the runtime tree: CA certificates for https:// remotes, a passwd/group entry for
# the fixed unprivileged uid (so that mounted secret files can be made readable to it, and ssh
# finds a home), /tmp, and the data dir owned by that uid (a volume mounted there starts with
# this ownership). In Kubernetes the root filesystem is read-only; /tmp and the data dir are
# volumes there.
RUN mkdir -p /rootfs/etc/ssl/certs /rootfs/etc/fabsync /rootfs/tmp /rootfs/home/data \
    && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
    && echo 'fabsync:x:10001:10001:fabsync:/var/lib/fabsync:/sbin/nologin' > /rootfs/etc/passwd \
    && echo 'fabsync:x:10001:' > /rootfs/etc/group \
    && chmod 1777 /rootfs/tmp \
    && chmod 0755 /rootfs/home /rootfs/home/data

FROM scratch
COPY --from=build /rootfs/etc/ /etc/
COPY --from=build /rootfs/usr/ /usr/
COPY --from=build /rootfs/tmp/ /tmp/
COPY --from=build --chown=10001:10001 /rootfs/home/ /var/lib/fabsync/
# file:// and local-path remotes need git-upload-pack, which this image does not have (only dev
# mode has an in-process fallback); https:// and ssh:// are handled in-process by go-git.
USER 10001:10001
WORKDIR /var/lib/fabsync
# Inside the container the API listens on every interface, so that a published port
# (docker run -p, compose "ports") reaches it; which interfaces of the host it is reachable on
# is decided there: publish on 127.0.0.1 unless a token guards it (see docker-compose.yml).
ENV PATH=/usr/local/bin HOME=/var/lib/fabsync SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENV FABSYNC_LISTEN=0.0.0.0:8080 FABSYNC_DATA_DIR=/var/lib/fabsync/data FABSYNC_CONFIG=/etc/fabsync/fabsync.yaml
EXPOSE 8080
CMD ["api"]
