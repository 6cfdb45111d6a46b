package worker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/fabsync/fabsync/internal/tasks"
)

// asynqLogger routes asynq's own logs through slog (asynq.Config.Logger). It knows a few of
// asynq's messages and says what they mean instead:
//   - "Retry exhausted for task id=…" follows every final failure, which the ErrorHandler has
//     already logged once with final=true (and permanent=true for asynq.SkipRetry): DEBUG.
//   - The scheduler's Shutdown complains that it cannot close the Redis client it shares with
//     us; we close it ourselves, so a clean shutdown logs it at DEBUG, not ERROR.
//   - A failed Redis command, script or subscription means Redis does not answer: it goes to
//     tasks.RedisLog, which rate-limits it together with go-redis's lines.
type asynqLogger struct {
	l     *slog.Logger
	redis *tasks.RedisLog // nil: Redis failures are logged like any other line
}

func (a asynqLogger) Debug(args ...any) { a.log(slog.LevelDebug, args) }
func (a asynqLogger) Info(args ...any)  { a.log(slog.LevelInfo, args) }
func (a asynqLogger) Warn(args ...any)  { a.log(slog.LevelWarn, args) }
func (a asynqLogger) Error(args ...any) { a.log(slog.LevelError, args) }
func (a asynqLogger) Fatal(args ...any) { a.log(slog.LevelError, append(args, " (fatal)")) }

func (a asynqLogger) log(level slog.Level, args []any) {
	ctx := context.Background() // asynq passes none
	msg := fmt.Sprint(args...)
	switch {
	case strings.HasPrefix(msg, "Retry exhausted for task id="):
		a.l.DebugContext(ctx, "task archived", "component", "asynq", "task_id", strings.TrimPrefix(msg, "Retry exhausted for task id="))
		return
	case strings.Contains(msg, "redis connection is shared so the Client can't be closed"):
		level = slog.LevelDebug
	case a.redis != nil && level >= slog.LevelWarn && isRedisFailure(msg):
		a.redis.Unavailable(ctx, "asynq", msg)
		return
	}
	a.l.Log(ctx, level, msg, "component", "asynq")
}

// isRedisFailure reports whether an asynq message carries one of the errors asynq's Redis
// broker wraps a failed command, script or subscription in.
func isRedisFailure(msg string) bool {
	for _, s := range []string{"redis command error: ", "redis eval error: ", "redis pubsub receive error: "} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
