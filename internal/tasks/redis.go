package tasks

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// OpenRedis returns a client for a redis://, rediss://, redis-socket:// or redis-sentinel:// URL
// (asynq's URI forms), or a Redis Cluster: redis-cluster://[[user]:password@]host:port[,host:port…]
// (rediss-cluster:// with TLS). The caller closes it. The error never repeats the URL's password.
func OpenRedis(rawURL string) (redis.UniversalClient, error) {
	if scheme, rest, ok := strings.Cut(rawURL, "://"); ok && (scheme == "redis-cluster" || scheme == "rediss-cluster") {
		opt, err := parseClusterURL(rest, scheme == "rediss-cluster")
		if err != nil {
			return nil, err
		}
		return redis.NewClusterClient(opt), nil
	}
	opt, err := asynq.ParseRedisURI(rawURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: want redis://[:password@]host[:port][/db], rediss://…, redis-sentinel://host:port[,host:port]?master=name or redis-cluster://host:port[,host:port]")
	}
	c, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("REDIS_URL: unsupported client type")
	}
	return c, nil
}

// parseClusterURL reads the part of a redis-cluster:// URL after the scheme: optional user
// info, then the seed nodes, comma-separated. A cluster has no databases: a path is refused.
func parseClusterURL(rest string, useTLS bool) (*redis.ClusterOptions, error) {
	opt := &redis.ClusterOptions{}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		u, err := url.Parse("x://" + rest[:i+1] + "h")
		if err != nil || u.User == nil {
			return nil, fmt.Errorf("REDIS_URL: the user info of the redis-cluster:// URL cannot be read")
		}
		opt.Username = u.User.Username()
		opt.Password, _ = u.User.Password()
		rest = rest[i+1:]
	}
	if strings.ContainsAny(rest, "/?#") {
		return nil, fmt.Errorf("REDIS_URL: a redis-cluster:// URL is host:port[,host:port…] (a cluster has no databases and takes no options)")
	}
	for _, addr := range strings.Split(rest, ",") {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("REDIS_URL: %q in the redis-cluster:// URL is not host:port", addr)
		}
		opt.Addrs = append(opt.Addrs, addr)
	}
	if useTLS {
		opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return opt, nil
}
