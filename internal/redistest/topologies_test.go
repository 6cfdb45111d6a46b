package redistest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/redistest"
)

// TestSentinel: a key written through the sentinels' master survives the master's death on the
// promoted replica, and writes go on there.
func TestSentinel(t *testing.T) {
	s := redistest.StartSentinel(t)
	ctx := context.Background()
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redistest.SentinelMaster, SentinelAddrs: s.Sentinels})
	defer func() { _ = c.Close() }()
	if err := c.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "WAIT", 1, 5000).Err(); err != nil {
		t.Fatal(err)
	}
	took := s.KillMaster(30 * time.Second)
	t.Logf("failover took %s", took)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.Set(ctx, "k2", "v2", 0).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write after the failover: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v1" {
		t.Fatalf("k after the failover = %q, %v; want v1", v, err)
	}
}

// TestCluster: keys of every slot range can be written and read through a cluster client.
func TestCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	ctx := context.Background()
	var addrs []string
	for _, n := range cl.Nodes {
		addrs = append(addrs, n.Addr())
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer func() { _ = c.Close() }()
	for i := range 30 {
		k := fmt.Sprintf("key-%d", i)
		if err := c.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	var mu sync.Mutex // ForEachMaster calls fn on every master at once
	masters := map[string]bool{}
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		mu.Lock()
		defer mu.Unlock()
		if n > 0 {
			masters[m.Options().Addr] = true
		}
		return err
	})
	if err != nil || len(masters) != 3 {
		t.Fatalf("keys on %d masters (%v); want all 3", len(masters), err)
	}
}
