package server

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

// Start runs Serve(ctx, ln, e) in a goroutine. accepting is closed once the server serves, that
// is once http.Server called Accept, so that a "listening" line logged after it is true. errc
// delivers Serve's result: read it to wait for the server to stop.
func Start(ctx context.Context, ln net.Listener, e *echo.Echo) (errc <-chan error, accepting <-chan struct{}) {
	al := &acceptListener{Listener: ln, accepting: make(chan struct{})}
	c := make(chan error, 1)
	go func() { c <- Serve(ctx, al, e) }()
	return c, al.accepting
}

// acceptListener closes accepting at the first call of Accept.
type acceptListener struct {
	net.Listener
	once      sync.Once
	accepting chan struct{}
}

func (l *acceptListener) Accept() (net.Conn, error) {
	l.once.Do(func() { close(l.accepting) })
	return l.Listener.Accept()
}

// PingRedis asks Redis once, for at most a second, and delivers the answer (nil: it answered).
// It never holds up serving; the goroutine ends within that second.
func PingRedis(ctx context.Context, rdb redis.UniversalClient) <-chan error {
	c := make(chan error, 1)
	go func() {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		c <- rdb.Ping(pctx).Err()
	}()
	return c
}

// RedisAttrs describe in a log line whether Redis answered at startup.
func RedisAttrs(url string, err error) []any {
	if err != nil {
		return []any{"redis", url, "redis_answered", false, "redis_err", err.Error()}
	}
	return []any{"redis", url, "redis_answered", true}
}
