package e2e_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestCancelMidStage cancels a running job in the middle of its git fetch and in the middle of
// its ingest, through the API, with a real worker: the cancel takes effect there (the stage does
// not finish), the job ends canceled, nothing is pushed, and the job log says when the cancel was
// asked for and when it took effect. The next sync of the fabric succeeds.
func TestCancelMidStage(t *testing.T) {
	gs := gittest.NewServer(t)
	// Ingest: one raw file of 8,000 VPCs takes a few seconds to validate and write. A VLAN
	// namespace holds at most 4094 VLANs, so every 3,000 VPCs have a namespace of their own.
	var big strings.Builder
	for i := range 8000 {
		fmt.Fprintf(&big, "---\napiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-%d\nspec:\n  vlanNamespace: vlans-%d\n  subnets:\n    default:\n      subnet: 10.%d.%d.0/24\n      vlan: %d\n", i, i/3000, i/250, i%250, 1000+i%3000)
	}
	ingestURL := gs.NewRepo(t, "ingest", map[string]string{"fab/raw/big.yaml": big.String()})
	// Fetch: a repository served through a proxy that trickles the bytes.
	files := map[string]string{"fab/raw/a.yaml": readTestdata(t, "wiring.yaml")}
	for i := range 200 {
		files[fmt.Sprintf("other/f%03d.txt", i)] = strings.Repeat(fmt.Sprintf("%d filler line\n", i), 400)
	}
	fetchURL := gs.NewRepo(t, "fetch", files)
	slow := slowProxy(t, strings.TrimPrefix(gs.URL, "http://"), 20*time.Millisecond)
	fetchURL = strings.Replace(fetchURL, gs.URL, "http://"+slow, 1)

	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fetching, repo: %q, path: fab}\n  - {name: ingesting, repo: %q, path: fab}\n", fetchURL, ingestURL), options{})
	tests := []struct {
		fabric, repo string
		midStage     func(j tasks.Job) bool // true once the job is inside the stage
		notReached   string                 // a log line the stage writes when it finishes
	}{
		{"fetching", "fetch", func(j tasks.Job) bool { return j.State == tasks.StateSyncing && j.Progress.Percent >= 2 }, "git sync done"},
		{"ingesting", "ingest", func(j tasks.Job) bool {
			return j.State == tasks.StateIngesting && strings.HasPrefix(j.Progress.Message, "ingesting raw files")
		}, "ingested "},
	}
	for _, tt := range tests {
		t.Run(tt.fabric, func(t *testing.T) {
			head := gittest.Git(t, gs.RepoDir(tt.repo), "rev-parse", "main")
			j, _ := sys.trigger(tt.fabric)
			deadline := time.Now().Add(60 * time.Second)
			for cur := sys.getJob(j.ID); !tt.midStage(cur); cur = sys.getJob(j.ID) {
				if cur.State.Terminal() || time.Now().After(deadline) {
					t.Fatalf("job never got inside the stage: %s %+v", cur.State, cur.Progress)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if r := sys.do("POST", "/api/v1/jobs/"+j.ID+"/cancel", ""); r.status != 202 {
				t.Fatalf("cancel = %d %s", r.status, r.body)
			}
			j = sys.wait(j.ID)
			if j.State != tasks.StateCanceled {
				t.Fatalf("job = %s (%s); want canceled", j.State, j.Reason)
			}
			var log []string
			for _, l := range j.Log {
				log = append(log, l.Message)
			}
			all := strings.Join(log, "\n")
			if strings.Contains(all, tt.notReached) {
				t.Errorf("the stage finished before the cancel took effect:\n%s", all)
			}
			if !strings.Contains(all, "cancel requested") || !strings.Contains(all, "cancel took effect during") {
				t.Errorf("log does not say when the cancel was asked for and when it took effect:\n%s", all)
			}
			if got := gittest.Git(t, gs.RepoDir(tt.repo), "rev-parse", "main"); got != head {
				t.Errorf("remote moved %s -> %s after a cancel", head, got)
			}
		})
	}
	// The fabric canceled mid-ingest syncs fine afterwards.
	j, _ := sys.trigger("ingesting")
	if j = sys.waitFor(j.ID, 3*time.Minute); j.State != tasks.StateSucceeded || j.Ingest.Documents != 8000 {
		t.Fatalf("sync after the cancel = %s (%s), %d documents; want succeeded with 8000", j.State, j.Reason, j.Ingest.Documents)
	}
}

// slowProxy forwards TCP connections to target, sleeping delay before each chunk it passes from
// the server, so that a transfer takes a while. It returns its address.
func slowProxy(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer func() { _ = up.Close() }()
				go func() { _, _ = io.Copy(up, c) }()
				buf := make([]byte, 2048)
				for {
					n, err := up.Read(buf)
					if n > 0 {
						time.Sleep(delay)
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}
