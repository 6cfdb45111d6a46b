package tasks

import (
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// OpenRedis returns a client for a redis://, rediss://, redis-socket:// or redis-sentinel:// URL
// (asynq's URI forms). The caller closes it. The error never repeats the URL's password.
func OpenRedis(rawURL string) (redis.UniversalClient, error) {
	opt, err := asynq.ParseRedisURI(rawURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: want redis://[:password@]host[:port][/db], rediss://…, or redis-sentinel://host:port[,host:port]?master=name")
	}
	c, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("REDIS_URL: unsupported client type")
	}
	return c, nil
}
