package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the master name the sentinels of StartSentinel watch.
const SentinelMaster = "fabsync"

// Sentinel is a private Redis master with one replica and three sentinels watching them, as an
// operator runs Redis for failover. URL is a REDIS_URL for it (redis-sentinel://…?master=…).
type Sentinel struct {
	URL       string
	Master    *Server
	Replica   *Server
	Sentinels []string // host:port of each sentinel
	t         testing.TB
}

// StartSentinel starts a master, a replica of it and three sentinels (quorum 2, a master is
// down after 1 s without an answer), all stopped in t.Cleanup, and waits until the replica is
// in sync and the sentinels know it.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	// No delay before the initial sync (Redis 7 waits 5 s for more replicas by default).
	master := StartServer(t, Args("--repl-diskless-sync-delay", "0"))
	replica := StartServer(t, Args("--replicaof", "127.0.0.1", strconv.Itoa(master.Port())))
	// A failover before the replica's first sync would promote an empty replica.
	rc := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	defer func() { _ = rc.Close() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := rc.Info(context.Background(), "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not sync with the master within 20s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s := &Sentinel{Master: master, Replica: replica, t: t}
	for i := range 3 {
		dir := t.TempDir()
		port := freePort(t)
		conf := filepath.Join(dir, "sentinel.conf")
		cfg := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 2\nsentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 10000\nsentinel parallel-syncs %s 1\n",
			port, dir, SentinelMaster, master.Port(), SentinelMaster, SentinelMaster, SentinelMaster)
		if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(master.bin, conf, "--sentinel", "--logfile", filepath.Join(dir, "sentinel.log"))
		if err := cmd.Start(); err != nil {
			t.Fatalf("start sentinel %d: %v", i, err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitReady(addr, 5*time.Second); err != nil {
			t.Fatalf("sentinel %d: %v", i, err)
		}
		s.Sentinels = append(s.Sentinels, addr)
	}
	s.URL = "redis-sentinel://" + strings.Join(s.Sentinels, ",") + "?master=" + SentinelMaster
	// The sentinels find the replica through the master within a few seconds.
	s.waitFor(20*time.Second, func(c *redis.SentinelClient) bool {
		rs, err := c.Replicas(context.Background(), SentinelMaster).Result()
		return err == nil && len(rs) > 0
	}, "the sentinels to see the replica")
	return s
}

// MasterAddr is the master's address as the first sentinel that answers reports it.
func (s *Sentinel) MasterAddr() string {
	for _, a := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: a})
		addr, err := c.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
		_ = c.Close()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1])
		}
	}
	return ""
}

// KillMaster kills the master process and waits (up to limit) until the sentinels promoted
// the replica; it returns how long that took.
func (s *Sentinel) KillMaster(limit time.Duration) time.Duration {
	s.t.Helper()
	begin := time.Now()
	s.Master.Stop()
	s.waitFor(limit, func(*redis.SentinelClient) bool { return s.MasterAddr() == s.Replica.Addr() }, "the replica to be promoted")
	return time.Since(begin)
}

// waitFor polls ok with a client of the first sentinel until it holds, or fails the test.
func (s *Sentinel) waitFor(limit time.Duration, ok func(*redis.SentinelClient) bool, what string) {
	s.t.Helper()
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0]})
	defer func() { _ = c.Close() }()
	deadline := time.Now().Add(limit)
	for !ok(c) {
		if time.Now().After(deadline) {
			s.t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Cluster is a private Redis Cluster of three masters (no replicas), each owning a third of the
// hash slots. URL is a REDIS_URL for it (redis-cluster://…).
type Cluster struct {
	URL   string
	Nodes []*Server
}

// StartCluster starts three cluster-enabled redis-servers and joins them with
// `redis-cli --cluster create`, waiting until the cluster is ok; stopped in t.Cleanup.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redis-cli not found (Debian: apt-get install redis-tools)")
	}
	c := &Cluster{}
	var addrs []string
	for range 3 {
		n := StartServer(t, Args("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"))
		c.Nodes = append(c.Nodes, n)
		addrs = append(addrs, n.Addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.URL = "redis-cluster://" + strings.Join(addrs, ",")
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer func() { _ = rc.Close() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := rc.ClusterInfo(context.Background()).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not ok after 20s: %v %s", err, info)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c
}
