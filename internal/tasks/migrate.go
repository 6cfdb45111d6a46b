package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// MigrateKeys renames the keys of each fabric from the names they had before slot tags
// (fabsync:fabric:<f>:…) to the tagged ones (keys.go), once: a key whose tagged name exists
// already is left as it is (and reported). Job records keep their names: a job ID of the form
// before tags still names fabsync:job:<id>. It returns how many keys it renamed. On a Redis
// Cluster there is nothing to migrate (fabsync never wrote untagged keys there).
//
// Reconcile calls it on its first pass, so that a worker of this version migrates before it
// looks at any slot; an API server of this version calls it when it starts. Until then an API
// or worker of the previous version still uses the old names: upgrade them all together.
func (s *Service) MigrateKeys(ctx context.Context) (int, error) {
	rdb := s.store.rdb
	if _, cluster := rdb.(*redis.ClusterClient); cluster {
		return 0, nil
	}
	fabrics, err := rdb.SMembers(ctx, fabricsKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("migrate keys: list fabrics: %w", err)
	}
	renamed := 0
	var left []string
	for _, f := range fabrics {
		for _, what := range fabricKeyKinds {
			old, tagged := legacyFabricKey(f, what), fabricKey(f, what)
			ok, err := rdb.RenameNX(ctx, old, tagged).Result()
			switch {
			case err != nil && strings.Contains(err.Error(), "no such key"):
			case err != nil:
				return renamed, fmt.Errorf("migrate keys: rename %s: %w", old, err)
			case ok:
				renamed++
			default:
				left = append(left, old)
			}
		}
	}
	if len(left) > 0 {
		return renamed, fmt.Errorf("migrate keys: %w: %s", errMigrateConflict, strings.Join(left, ", "))
	}
	return renamed, nil
}

// errMigrateConflict: a key exists under both names (a process of each version wrote it).
var errMigrateConflict = errors.New("kept the old keys whose new names exist already")
