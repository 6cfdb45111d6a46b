package tasks

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestHeadCache: a head is reused for maxAge; past it one caller asks the remote while the
// others go on with the head it replaces for up to 2*maxAge, and past that they wait for the
// answer; a failed ask is not remembered.
func TestHeadCache(t *testing.T) {
	ctx := context.Background()
	var hc headCache
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	asks := 0
	answer := func(head string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { asks++; return head, nil }
	}
	get := func(ask func(context.Context) (string, error)) string {
		t.Helper()
		h, err := hc.get(ctx, "k", time.Second, clock, ask)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := get(answer("a")); h != "a" || asks != 1 {
		t.Fatalf("first get = %q after %d asks", h, asks)
	}
	now = now.Add(time.Second)
	if h := get(answer("b")); h != "a" || asks != 1 {
		t.Fatalf("get within maxAge = %q after %d asks; want the cached a", h, asks)
	}
	// Past maxAge: one caller asks, and is held there; another gets the old head meanwhile.
	now = now.Add(500 * time.Millisecond)
	release, asking := make(chan struct{}), make(chan struct{})
	got := make(chan string)
	go func() {
		h, _ := hc.get(ctx, "k", time.Second, clock, func(context.Context) (string, error) {
			close(asking)
			<-release
			return "c", nil
		})
		got <- h
	}()
	<-asking
	if h := get(answer("x")); h != "a" || asks != 1 {
		t.Fatalf("get while another asks = %q (%d asks); want the head it replaces", h, asks)
	}
	close(release)
	if h := <-got; h != "c" {
		t.Fatalf("the asking caller got %q; want c", h)
	}
	if h := get(answer("x")); h != "c" {
		t.Fatalf("get after the answer = %q; want c", h)
	}
	// A failed ask is not remembered: the next caller asks again.
	now = now.Add(3 * time.Second)
	if _, err := hc.get(ctx, "k", time.Second, clock, func(context.Context) (string, error) { return "", errors.New("down") }); err == nil {
		t.Fatal("a failed ask gave no error")
	}
	if h := get(answer("d")); h != "d" {
		t.Fatalf("get after a failure = %q; want a new ask", h)
	}
}
