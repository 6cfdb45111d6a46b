# One image, three commands: api, worker, fabsync (CLI). Build: docker build -t fabsync .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/api ./cmd/worker ./cmd/fabsync

FROM debian:bookworm-slim
# git is only needed for file:// remotes; https:// and ssh:// are handled in-process by go-git.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
    && rm -rf /var/lib/apt/lists/* && useradd --system --create-home --home-dir /var/lib/fabsync fabsync
COPY --from=build /out/ /usr/local/bin/
USER fabsync
WORKDIR /var/lib/fabsync
ENV FABSYNC_DATA_DIR=/var/lib/fabsync/data FABSYNC_CONFIG=/etc/fabsync/fabsync.yaml
EXPOSE 8080
CMD ["api"]
