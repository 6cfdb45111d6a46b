package tasks

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// HoldLeadership takes the scheduler's leader lease for holder, or renews it when holder
// already has it, for ttl. It reports whether holder leads afterwards. Package worker runs the
// periodic resync scheduler only while it leads, so that one worker at a time schedules.
func HoldLeadership(ctx context.Context, rdb redis.UniversalClient, holder string, ttl time.Duration) (bool, error) {
	n, err := renewLeaseScript.Run(ctx, rdb, []string{leaderKey()}, holder, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("scheduler lease: %w", err)
	}
	return n == 1, nil
}

// ReleaseLeadership gives the lease up if holder has it.
func ReleaseLeadership(ctx context.Context, rdb redis.UniversalClient, holder string) error {
	if err := releaseLeaseScript.Run(ctx, rdb, []string{leaderKey()}, holder).Err(); err != nil {
		return fmt.Errorf("release scheduler lease: %w", err)
	}
	return nil
}
