package tasks

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hibiken/asynq"
)

// The outcome an in-process attempt leaves is what its ingest task tells asynq: nothing, a
// retried error, or a permanent one, with the same message.
func TestHandoffOutcome(t *testing.T) {
	tests := []struct {
		name string
		err  error
		skip bool
	}{
		{"succeeded", nil, false},
		{"retried", errors.New("push: connection reset"), false},
		{"permanent", fmt.Errorf("%w: %w", errors.New("3 errors in raw files"), asynq.SkipRetry), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := handoffError(handoffOutcome(tt.err))
			if (got == nil) != (tt.err == nil) || (got != nil && got.Error() != tt.err.Error()) || errors.Is(got, asynq.SkipRetry) != tt.skip {
				t.Fatalf("handoffError(handoffOutcome(%v)) = %v; want the same error, permanent %v", tt.err, got, tt.skip)
			}
		})
	}
}
