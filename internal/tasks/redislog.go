package tasks

import (
	"context"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLog reports that Redis does not answer: one WARN line "redis unavailable" with the
// failure ("err") and who saw it ("component": "redis" for go-redis, "asynq", "metrics"), at
// most once per Every, counting the reports it held back ("suppressed"). Without it an outage
// floods the log with a line per dial attempt. Each command's run sets it with
// redis.SetLogger to take go-redis's own lines, and passes it to the worker for asynq's. It is
// safe for concurrent use; set the fields before first use.
//
// It lives beside OpenRedis: every command opens Redis through this package.
type RedisLog struct {
	Logger *slog.Logger     // required
	Every  time.Duration    // at most one line per Every [10s]
	Now    func() time.Time // the clock [time.Now]

	mu         sync.Mutex
	last       time.Time // when the last line was written; zero before the first
	suppressed int       // reports held back since then
}

// Printf takes a go-redis log line (it implements go-redis's internal.Logging).
func (r *RedisLog) Printf(ctx context.Context, format string, v ...any) {
	r.Unavailable(ctx, "redis", strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
}

// Unavailable reports a Redis failure that component saw.
func (r *RedisLog) Unavailable(ctx context.Context, component, err string) {
	now, every := time.Now, r.Every
	if r.Now != nil {
		now = r.Now
	}
	if every <= 0 {
		every = 10 * time.Second
	}
	r.mu.Lock()
	t := now()
	if !r.last.IsZero() && t.Sub(r.last) < every {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	n := r.suppressed
	r.last, r.suppressed = t, 0
	r.mu.Unlock()
	r.Logger.WarnContext(ctx, "redis unavailable", "component", component, "err", err, "suppressed", n)
}

// LogWriter returns a writer for the standard library's log (log.SetOutput, with no flags):
// each line becomes a WARN line with "component": "log". The one library line known to come
// that way while Redis is down, asynq's metrics collector failing, joins "redis unavailable".
func (r *RedisLog) LogWriter() io.Writer { return logWriter{r} }

type logWriter struct{ r *RedisLog }

func (w logWriter) Write(p []byte) (int, error) {
	ctx := context.Background()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if strings.HasPrefix(line, "Failed to collect metrics data: ") {
			w.r.Unavailable(ctx, "metrics", line)
			continue
		}
		w.r.Logger.WarnContext(ctx, line, "component", "log")
	}
	return len(p), nil
}

// Install makes r the logger of go-redis and the output of the standard library's log (asynq's
// metrics collector, net/http), both package-level. Only a command's run may call it: it is the
// one place allowed to set such globals. Call the returned function when run returns: it
// restores the standard log; go-redis's logger stays set, as go-redis offers no way back.
func (r *RedisLog) Install() (restore func()) {
	redis.SetLogger(r)
	w, flags := stdlog.Writer(), stdlog.Flags()
	stdlog.SetFlags(0)
	stdlog.SetOutput(r.LogWriter())
	return func() { stdlog.SetOutput(w); stdlog.SetFlags(flags) }
}
