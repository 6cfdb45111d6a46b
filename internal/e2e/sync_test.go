package e2e_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// manifest is the part of .hnp/manifest.yaml the tests check.
type manifest struct {
	Resources []struct {
		Path, Kind, Name, Namespace string
		APIVersion                  string `yaml:"apiVersion"`
		Sha256                      string
		Source                      struct{ File, Job string }
	}
}

func readManifest(t testing.TB, dir string) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".hnp", "manifest.yaml"))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var m manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

// yamlFiles lists the YAML files under dir (relative, slash-separated).
func yamlFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// countDocs counts the non-empty documents of a YAML stream, as an independent oracle.
func countDocs(t testing.TB, data string) int {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(data))
	n := 0
	for {
		var v any
		err := dec.Decode(&v)
		if err != nil {
			break
		}
		if v != nil {
			n++
		}
	}
	return n
}

func TestSyncEndToEnd(t *testing.T) {
	gs := gittest.NewServer(t)
	files := map[string]string{
		"fab/raw/wiring.yaml":  readTestdata(t, "wiring.yaml"),
		"fab/raw/sub/vpcs.yml": readTestdata(t, "vpcs.yaml"),
		"fab/raw/README.md":    "not YAML: stays where it is\n",
		"other/raw/keep.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"fab/managed/.gitkeep": "",
	}
	fabrics := "fabrics:\n  - {name: fab, repo: %q, path: fab}\n"
	// In CI (and wherever ../shared exists), each real Hedgehog wiring file is its own fabric.
	var real, realFiles []string
	if d := sharedDir(t, "hedgehog"); d != "" {
		names, _ := filepath.Glob(filepath.Join(d, "*.yaml"))
		for i, p := range names {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("hh%d", i)
			files[name+"/raw/"+filepath.Base(p)] = string(b)
			real = append(real, name)
			realFiles = append(realFiles, p)
		}
	}
	url := gs.NewRepo(t, "gitops", files)
	cfg := fmt.Sprintf(fabrics, url)
	for i, name := range real {
		// The demo repository's env-1/demo.yaml peers VPCs that the same repository defines in
		// another file (pre-demo.yaml, not among the samples): alone it is a fragment, so the two
		// rules that would report the missing VPCs are turned off, as a user would for it.
		validation := "{}"
		if filepath.Base(realFiles[i]) == "demo-gitops_env-1_demo.yaml" {
			validation = "{disable: [vpcpeering-unknown-vpc, externalpeering-unknown-vpc]}"
		}
		cfg += fmt.Sprintf("  - {name: %s, repo: %q, path: %s, validation: %s}\n", name, url, name, validation)
	}
	sys := start(t, cfg, options{workers: 2})
	bare := gs.RepoDir("gitops")
	count := func() string { return gittest.Git(t, bare, "rev-list", "--count", "main") }
	before := count()

	j, status := sys.trigger("fab")
	if status != http.StatusAccepted {
		t.Fatalf("trigger status = %d; want 202", status)
	}
	r := sys.do("GET", "/api/v1/jobs/"+j.ID, "")
	if r.status != http.StatusOK {
		t.Fatalf("GET job = %d", r.status)
	}
	j = sys.wait(j.ID)
	if j.State != tasks.StateSucceeded {
		t.Fatalf("job = %s (%s); want succeeded\n%s", j.State, j.Reason, jsonString(j))
	}
	if j.Ingest.Files != 2 || j.Ingest.Documents != 6 || j.Ingest.Created != 6 || j.Ingest.Archived != 2 || j.Ingest.Commit == "" {
		t.Errorf("ingest = %+v; want 2 files, 6 documents created, a commit", j.Ingest)
	}
	if j.GitSync.State != tasks.StageSucceeded || j.GitSync.Attempts != 1 || j.GitSync.Commit == "" {
		t.Errorf("git_sync = %+v", j.GitSync)
	}
	if j.Progress.Percent != 100 || j.Progress.Stage != tasks.ProgressDone || len(j.Log) < 4 {
		t.Errorf("progress = %+v, %d log lines", j.Progress, len(j.Log))
	}
	if len(j.Ingest.Warnings) != 1 || !strings.Contains(j.Ingest.Warnings[0], "Gateway") {
		t.Errorf("warnings = %q; want one about the Gateway", j.Ingest.Warnings)
	}
	if got := count(); got != fmt.Sprint(mustAtoi(t, before)+1) {
		t.Fatalf("commits %s -> %s; want exactly one new commit", before, got)
	}
	clone := gittest.Clone(t, url)
	if msg := gittest.Git(t, clone, "log", "-1", "--format=%B"); !strings.Contains(msg, "Fabsync-Job: "+j.ID) {
		t.Errorf("commit message lacks the job trailer:\n%s", msg)
	}
	if head := gittest.Git(t, clone, "rev-parse", "HEAD"); head != j.Ingest.Commit {
		t.Errorf("remote head %s; job says %s", head, j.Ingest.Commit)
	}
	fab := filepath.Join(clone, "fab")
	if got := yamlFiles(t, filepath.Join(fab, "raw")); len(got) != 0 {
		t.Errorf("raw/ still holds YAML: %v", got)
	}
	for _, keep := range []string{"raw/README.md", "raw/.gitkeep"} {
		if _, err := os.Stat(filepath.Join(fab, keep)); err != nil {
			t.Errorf("%s: %v", keep, err)
		}
	}
	want := []string{
		"managed/connections/server-01--unbundled--leaf-01.yaml",
		"managed/servers/server-01.yaml",
		"managed/switches/leaf-01.yaml",
		"managed/vpcattachments/vpc-1--server-01.yaml",
		"managed/vpcs/vpc-1.yaml",
		"unmanaged/gateways/gw-1.yaml",
	}
	var got []string
	for _, sub := range []string{"managed", "unmanaged"} {
		for _, f := range yamlFiles(t, filepath.Join(fab, sub)) {
			got = append(got, sub+"/"+f)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("resource files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	vpc, _ := os.ReadFile(filepath.Join(fab, "managed/vpcs/vpc-1.yaml"))
	for _, gone := range []string{"uid:", "resourceVersion", "status:"} {
		if strings.Contains(string(vpc), gone) {
			t.Errorf("managed/vpcs/vpc-1.yaml keeps %s:\n%s", gone, vpc)
		}
	}
	m := readManifest(t, fab)
	var paths []string
	for _, r := range m.Resources {
		paths = append(paths, r.Path)
		if r.Source.Job != j.ID || r.Sha256 == "" || r.Kind == "" {
			t.Errorf("manifest entry %+v lacks its source/sha/kind", r)
		}
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("manifest paths:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
	for _, a := range []string{".hnp/archive/" + j.ID + "/wiring.yaml.archived", ".hnp/archive/" + j.ID + "/sub/vpcs.yml.archived"} {
		b, err := os.ReadFile(filepath.Join(fab, a))
		if err != nil {
			t.Errorf("archive: %v", err)
		} else if orig := files["fab/raw/"+strings.TrimSuffix(strings.TrimPrefix(a, ".hnp/archive/"+j.ID+"/"), ".archived")]; string(b) != orig {
			t.Errorf("%s is not the byte-exact original", a)
		}
	}
	if log, err := os.ReadFile(filepath.Join(fab, ".hnp", "archive-log.yaml")); err != nil || !strings.Contains(string(log), j.ID) {
		t.Errorf("archive log = %q, %v; want an entry for the job", log, err)
	}
	if _, err := os.Stat(filepath.Join(clone, "other/raw/keep.yaml")); err != nil {
		t.Errorf("another fabric's raw file was touched: %v", err)
	}

	// Nothing new: succeeded, zero counts, no commit.
	j2, _ := sys.trigger("fab")
	j2 = sys.wait(j2.ID)
	if j2.State != tasks.StateSucceeded || j2.Ingest.Files != 0 || j2.Ingest.Documents != 0 || j2.Ingest.Commit != "" {
		t.Errorf("re-run = %s %+v; want succeeded with zero counts and no commit", j2.State, j2.Ingest)
	}
	if got := count(); got != fmt.Sprint(mustAtoi(t, before)+1) {
		t.Errorf("re-run made a commit: %s commits", got)
	}

	// Every real Hedgehog file: all documents land, nothing lost.
	for _, name := range real {
		t.Run(name, func(t *testing.T) {
			j, _ := sys.trigger(name)
			j = sys.wait(j.ID)
			if j.State != tasks.StateSucceeded {
				t.Fatalf("job = %s: %s %s", j.State, j.Reason, jsonString(j.Ingest.Errors))
			}
			var raw string
			for p, c := range files {
				if strings.HasPrefix(p, name+"/raw/") {
					raw = c
				}
			}
			docs := countDocs(t, raw)
			if j.Ingest.Documents != docs {
				t.Errorf("documents = %d; want %d", j.Ingest.Documents, docs)
			}
			clone := gittest.Clone(t, url)
			m := readManifest(t, filepath.Join(clone, name))
			if len(m.Resources) != docs {
				t.Errorf("manifest has %d resources; want %d", len(m.Resources), docs)
			}
			for _, r := range m.Resources {
				if _, err := os.Stat(filepath.Join(clone, name, filepath.FromSlash(r.Path))); err != nil {
					t.Errorf("manifest names %s: %v", r.Path, err)
				}
				managed := strings.HasPrefix(r.Path, "managed/")
				hh := strings.HasSuffix(strings.SplitN(r.APIVersion, "/", 2)[0], "githedgehog.com")
				known := map[string]bool{"VPC": true, "VPCAttachment": true, "VPCPeering": true, "External": true, "ExternalAttachment": true,
					"ExternalPeering": true, "IPv4Namespace": true, "VLANNamespace": true, "Connection": true, "Server": true, "Switch": true, "SwitchGroup": true}
				if managed != (hh && known[r.Kind]) {
					t.Errorf("%s (%s %s) is in the wrong tree", r.Path, r.APIVersion, r.Kind)
				}
			}
		})
	}
}

func mustAtoi(t testing.TB, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

func TestPartialSync(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{
		"fab/raw/good.yaml":    readTestdata(t, "wiring.yaml"),
		"fab/raw/invalid.yaml": readTestdata(t, "invalid.yaml"),
	})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{})
	bare := gs.RepoDir("gitops")
	head := gittest.Git(t, bare, "rev-parse", "main")
	j, _ := sys.trigger("fab")
	j = sys.wait(j.ID)
	if j.State != tasks.StatePartialSync || j.GitSync.State != tasks.StageSucceeded || j.Ingest.State != tasks.StageFailed {
		t.Fatalf("job = %s (git %s, ingest %s); want partial_sync", j.State, j.GitSync.State, j.Ingest.State)
	}
	if j.Ingest.Attempts != 1 {
		t.Errorf("ingest attempts = %d; validation errors are permanent, want 1", j.Ingest.Attempts)
	}
	if len(j.Ingest.Errors) != 1 {
		t.Fatalf("errors = %+v; want 1", j.Ingest.Errors)
	}
	e := j.Ingest.Errors[0]
	if e.File != "raw/invalid.yaml" || e.Document != 2 || e.Line != 10 || e.Column == 0 || !strings.Contains(e.Message, "Leaf_03") {
		t.Errorf("error = %+v; want raw/invalid.yaml document 2 line 10 about Leaf_03", e)
	}
	if got := gittest.Git(t, bare, "rev-parse", "main"); got != head {
		t.Errorf("remote moved %s -> %s; a partial sync must change nothing", head, got)
	}
}

func TestGitFailures(t *testing.T) {
	const token = "s3cr3t-token-value"
	open := gittest.NewServer(t)
	locked := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", token))
	lockedURL := locked.NewRepo(t, "gitops", map[string]string{"fab/raw/a.yaml": readTestdata(t, "wiring.yaml")})
	cfg := fmt.Sprintf(`fabrics:
  - {name: missing, repo: %q, path: fab}
  - {name: badtoken, repo: %q, path: fab, auth: {token_env: WRONG_TOKEN}}
  - {name: notoken, repo: %q, path: fab, auth: {token_env: UNSET_TOKEN}}
  - {name: goodtoken, repo: %q, path: fab, auth: {token_env: GOOD_TOKEN}}
`, open.URL+"/nope.git", lockedURL, lockedURL, lockedURL)
	sys := start(t, cfg, options{env: map[string]string{"WRONG_TOKEN": "wrong-" + token, "GOOD_TOKEN": token}})
	for _, tt := range []struct{ fabric, want string }{
		{"missing", "not found"},
		{"badtoken", "authentication"},
		{"notoken", "UNSET_TOKEN is not set"},
	} {
		t.Run(tt.fabric, func(t *testing.T) {
			j, _ := sys.trigger(tt.fabric)
			j = sys.wait(j.ID)
			if j.State != tasks.StateFailed || j.GitSync.Attempts != 1 || j.Ingest.State != tasks.StageSkipped {
				t.Fatalf("job = %s, %d attempts, ingest %s; want failed at once (permanent)", j.State, j.GitSync.Attempts, j.Ingest.State)
			}
			if !strings.Contains(j.GitSync.Error, tt.want) || !strings.Contains(j.Reason, tt.want) {
				t.Errorf("error = %q / reason %q; want it to say %q", j.GitSync.Error, j.Reason, tt.want)
			}
			raw := sys.do("GET", "/api/v1/jobs/"+j.ID, "")
			if strings.Contains(string(raw.body), token) {
				t.Errorf("job record leaks the token: %s", raw.body)
			}
		})
	}
	j, _ := sys.trigger("goodtoken")
	if j = sys.wait(j.ID); j.State != tasks.StateSucceeded {
		t.Fatalf("with the right token: %s (%s)", j.State, j.Reason)
	}
	if strings.Contains(jsonString(j), token) {
		t.Error("job record leaks the token")
	}
}

func TestOneJobPerFabric(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{"fab/raw/a.yaml": readTestdata(t, "wiring.yaml")})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{workers: 2})

	// 20 concurrent triggers over HTTP.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]int{}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, status := sys.trigger("fab")
			mu.Lock()
			ids[j.ID] = status
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(ids) > 2 {
		t.Fatalf("20 concurrent triggers made %d jobs; at most one running and one waiting allowed", len(ids))
	}
	var jobs []tasks.Job
	for id := range ids {
		jobs = append(jobs, sys.wait(id))
	}
	// Also trigger while a job runs: a follow-up is queued and later runs.
	first, _ := sys.trigger("fab")
	for {
		j := sys.getJob(first.ID)
		if j.State != tasks.StateQueued {
			break
		}
	}
	follow, status := sys.trigger("fab")
	if running := sys.getJob(first.ID); !tasks.Terminal(running.State) {
		if follow.ID == first.ID || status != http.StatusAccepted {
			t.Errorf("trigger while running = %s (%d); want a new waiting job", follow.ID, status)
		}
	}
	jobs = append(jobs, sys.wait(first.ID), sys.wait(follow.ID))
	for _, j := range jobs {
		if j.State != tasks.StateSucceeded {
			t.Errorf("job %s = %s (%s)", j.ID, j.State, j.Reason)
		}
	}
	// No two jobs of the fabric ever ran at the same time.
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].StartedAt.Before(*jobs[b].StartedAt) })
	for i := 1; i < len(jobs); i++ {
		if jobs[i].ID != jobs[i-1].ID && jobs[i].StartedAt.Before(*jobs[i-1].FinishedAt) {
			t.Errorf("job %s started at %s before job %s finished at %s", jobs[i].ID, jobs[i].StartedAt, jobs[i-1].ID, jobs[i-1].FinishedAt)
		}
	}
	// Exactly one commit landed (the first job ingested everything; the rest had nothing new).
	if n := gittest.Git(t, gs.RepoDir("gitops"), "rev-list", "--count", "main"); n != "2" {
		t.Errorf("remote has %s commits; want 2 (seed + one ingest)", n)
	}
}

func (s *system) getJob(id string) tasks.Job {
	s.t.Helper()
	r := s.do("GET", "/api/v1/jobs/"+id, "")
	var j tasks.Job
	r.decode(s.t, &j)
	return j
}
