package gitops

// An internal test: the pack indexer has no API of its own, and what it must
// agree with is `git index-pack`, object for object.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// TestIndexPack indexes packs of every shape git makes (offset and
// reference deltas, deep chains, a thin pack whose bases are elsewhere) and
// compares the index with git's; a damaged pack and one over the object
// limit are refused.
func TestIndexPack(t *testing.T) {
	if testing.Short() {
		t.Skip("needs git; skipped with -short")
	}
	repo := t.TempDir()
	gittest.Git(t, repo, "init", "-q", "-b", "main")
	for c := 0; c < 40; c++ {
		for k := 0; k < 3; k++ {
			i := (c*7 + k*3) % 12
			var b strings.Builder
			for l := 0; l < 50+c; l++ {
				fmt.Fprintf(&b, "file %d line %d rev %d\n", i, l, (l*c)%7)
			}
			name := filepath.Join(repo, "fab", fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%d.yaml", i))
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		gittest.Git(t, repo, "add", "-A")
		gittest.Git(t, repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", fmt.Sprintf("c%d", c))
	}
	dot := filepath.Join(repo, ".git")
	ext := packStorage{filesystem.NewStorage(osfs.New(dot), cache.NewObjectLRUDefault()), 0}
	t.Cleanup(func() { _ = ext.Close() })

	// pack writes a pack with git pack-objects (args, revisions on stdin).
	pack := func(t *testing.T, revs string, args ...string) []byte {
		t.Helper()
		cmd := append([]string{"pack-objects", "-q", "--revs", "--stdout"}, args...)
		return gitStdin(t, repo, revs, cmd...)
	}
	tests := []struct {
		name    string
		revs    string
		args    []string
		thin    bool
		deltas  plumbing.ObjectType // the kind of delta the pack must hold
		damage  func([]byte) []byte
		max     int
		wantErr string
	}{
		{name: "offset deltas", revs: "main\n", args: []string{"--delta-base-offset", "--window=10", "--depth=50"}, deltas: plumbing.OFSDeltaObject},
		{name: "reference deltas", revs: "main\n", args: []string{"--window=10", "--depth=50"}, deltas: plumbing.REFDeltaObject},
		{name: "deep chains", revs: "main\n", args: []string{"--window=250", "--depth=250"}, deltas: plumbing.REFDeltaObject},
		{name: "no deltas", revs: "main\n", args: []string{"--window=0"}},
		{name: "thin pack", revs: "main\n^main~10\n", args: []string{"--thin", "--window=10"}, thin: true, deltas: plumbing.REFDeltaObject},
		{name: "damaged", revs: "main\n", damage: func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b }, wantErr: "?"},
		{name: "truncated", revs: "main\n", damage: func(b []byte) []byte { return b[:len(b)-40] }, wantErr: "?"},
		{name: "over the object limit", revs: "main\n", max: 10, wantErr: "over the limit of 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := pack(t, tt.revs, tt.args...)
			if got := deltaKinds(t, b); tt.deltas != plumbing.InvalidObject && got[tt.deltas] == 0 {
				t.Fatalf("pack holds %v; want some %v", got, tt.deltas)
			}
			if tt.damage != nil {
				b = tt.damage(b)
			}
			name := filepath.Join(t.TempDir(), "test.pack")
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = f.Close() }()
			ext := ext
			ext.max = tt.max
			idx, sum, err := indexPack(f, ext)
			if tt.wantErr != "" {
				if err == nil || (tt.wantErr != "?" && !strings.Contains(err.Error(), tt.wantErr)) {
					t.Fatalf("indexPack = %v; want an error %q", err, tt.wantErr)
				}
				if tt.max > 0 && !errors.Is(err, ErrRepoTooLarge) {
					t.Errorf("indexPack = %v; want ErrRepoTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("indexPack = %v", err)
			}
			got := entries(t, idx)
			if tt.thin {
				// git index-pack cannot index a thin pack without completing
				// it; the objects are what rev-list says was sent.
				want := map[string]bool{}
				for _, line := range strings.Split(gittest.Git(t, repo, "rev-list", "--objects", "main", "^main~10"), "\n") {
					want[strings.Fields(line)[0]] = true
				}
				have := map[string]bool{}
				for h := range got {
					have[h] = true
				}
				if diff := cmpDiffInternal(want, have); diff != "" {
					t.Errorf("objects of the thin pack (-want +got):\n%s", diff)
				}
				return
			}
			ref := filepath.Join(t.TempDir(), "ref.idx")
			gittest.Git(t, repo, "index-pack", "-o", ref, name)
			rf, err := os.Open(ref)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = rf.Close() }()
			want := idxfile.NewMemoryIndex()
			if err := idxfile.NewDecoder(rf).Decode(want); err != nil {
				t.Fatal(err)
			}
			if diff := cmpDiffInternal(entries(t, want), got); diff != "" {
				t.Errorf("index (-git +ours):\n%s", diff)
			}
			if !bytes.Equal(sum[:], want.PackfileChecksum[:]) {
				t.Errorf("pack checksum = %s; want %x", sum, want.PackfileChecksum)
			}
		})
	}
}

// deltaKinds counts the objects of a pack by their type in it.
func deltaKinds(t *testing.T, b []byte) map[plumbing.ObjectType]int {
	t.Helper()
	sc := packfile.NewScanner(bytes.NewReader(b))
	_, n, err := sc.Header()
	if err != nil {
		t.Fatal(err)
	}
	out := map[plumbing.ObjectType]int{}
	for i := uint32(0); i < n; i++ {
		oh, err := sc.NextObjectHeader()
		if err != nil {
			t.Fatal(err)
		}
		out[oh.Type]++
	}
	return out
}

// entries lists an index: hash → "offset crc".
func entries(t *testing.T, idx idxfile.Index) map[string]string {
	t.Helper()
	it, err := idx.Entries()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for {
		e, err := it.Next()
		if err != nil {
			break
		}
		out[e.Hash.String()] = fmt.Sprintf("%d %08x", e.Offset, e.CRC32)
	}
	return out
}

// gitStdin runs git in dir with stdin and returns its output, untrimmed.
func gitStdin(t *testing.T, dir, stdin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func cmpDiffInternal(want, got any) string { return cmp.Diff(want, got) }
