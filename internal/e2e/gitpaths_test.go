package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestBadTreeEntriesFailOnlyTheirFabric: a raw file with a bad name (here
// `..\..\x.yaml`, which git add refuses but a tree can hold) or over the raw
// file size limit fails the job of the fabric whose folder holds it at the
// first attempt, naming it, in seconds; the other fabrics of the same
// repository keep syncing and ingesting. It needs the worker to give gitops
// the fabric folder (gitops.Config.Path) and ingest's file limit
// (gitops.Config.MaxFileSize).
func TestBadTreeEntriesFailOnlyTheirFabric(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{
		"bad/raw/vpcs.yaml":   readTestdata(t, "vpcs.yaml"),
		"big/raw/vpcs.yaml":   readTestdata(t, "vpcs.yaml"),
		"good/raw/vpcs.yaml":  readTestdata(t, "vpcs.yaml"),
		"good/managed/.keep":  "",
		"other/raw/keep.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
	})
	bare := gs.RepoDir("gitops")
	blob := gittest.WriteBlob(t, bare, strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n"))
	huge := gittest.WriteBlob(t, bare, strings.NewReader(strings.Repeat("# padding\n", 1<<20))) // 10 MiB
	gittest.CommitTree(t, bare, map[string]string{`bad/raw/..\..\x.yaml`: blob, "big/raw/huge.yaml": huge}, "hostile entries")

	sys := start(t, "fabrics:\n"+
		"  - {name: bad, repo: "+url+", path: bad}\n"+
		"  - {name: big, repo: "+url+", path: big}\n"+
		"  - {name: good, repo: "+url+", path: good}\n", options{})

	for _, tc := range []struct{ fabric, want string }{
		{"bad", `bad/raw/..\..\x.yaml`},
		{"big", `"big/raw/huge.yaml" is 10 MiB, over the limit of 8 MiB`},
	} {
		t.Run(tc.fabric, func(t *testing.T) {
			start := time.Now()
			j, _ := sys.trigger(tc.fabric)
			j = sys.wait(j.ID)
			if j.State != tasks.StateFailed || j.GitSync.Attempts != 1 {
				t.Fatalf("job = %s after %d attempts; want failed at the first\n%s", j.State, j.GitSync.Attempts, jsonString(j))
			}
			if !strings.Contains(j.GitSync.Error, tc.want) {
				t.Errorf("git_sync error %q does not name %s", j.GitSync.Error, tc.want)
			}
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("the job took %v to fail; want seconds", took)
			}
		})
	}

	j, _ := sys.trigger("good")
	if j = sys.wait(j.ID); j.State != tasks.StateSucceeded {
		t.Fatalf("job of the good fabric = %s (%s); want succeeded: bad entries elsewhere must not block it\n%s", j.State, j.Reason, jsonString(j))
	}
	// What the good fabric pushed keeps the other fabrics' entries.
	files := gittest.Git(t, bare, "ls-tree", "-r", "--name-only", "main")
	for _, keep := range []string{`bad/raw/..\..\x.yaml`, "big/raw/huge.yaml"} {
		if !strings.Contains(files, keep) && !strings.Contains(files, `"`+strings.ReplaceAll(keep, `\`, `\\`)+`"`) {
			t.Errorf("after the good fabric's push, %s is gone from the remote:\n%s", keep, files)
		}
	}
}
