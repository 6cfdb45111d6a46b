package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/config"
)

// TestFabricJSONRedactsRepo: the API shows a fabric's repository without user info, whatever
// the Source holds (Parse refuses such addresses; this is the second line).
func TestFabricJSONRedactsRepo(t *testing.T) {
	tests := []struct{ repo, want string }{
		{"https://ghp_hunter2hunter2@github.com/o/r.git", "https://github.com/o/r.git"},
		{"https://u:hunter2@github.com/o/r.git", "https://github.com/o/r.git"},
		{"https://github.com/o/r.git?access_token=hunter2", "https://github.com/o/r.git"},
		{"ssh://git:hunter2@github.com/o/r.git", "ssh://git@github.com/o/r.git"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(newFabric(config.Fabric{Name: "a", Repo: tt.repo, Branch: "main", Path: "."}, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		var got fabric
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Repo != tt.want || strings.Contains(string(b), "hunter2") {
			t.Errorf("fabric JSON of %s = %s; want repo %q and no secret", tt.repo, b, tt.want)
		}
	}
}

// TestFabricsNeverShowTokenURL rewrites the fabrics file of a running server with a token as
// the repository URL's user name: the file is refused, and neither the fabrics nor the reason
// in GET /api/v1/fabrics and /readyz show the token.
func TestFabricsNeverShowTokenURL(t *testing.T) {
	const token = "ghp_hunter2hunter2hunter2"
	p := filepath.Join(t.TempDir(), "fabsync.yaml")
	writeFile(t, p, "fabrics:\n  - {name: a, repo: 'https://github.com/o/r.git'}\n")
	src, err := config.NewSource(p, config.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	e := newTestServer(t, src)
	writeFile(t, p, "fabrics:\n  - {name: a, repo: 'https://"+token+"@github.com/o/r.git'}\n")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	rec := get(e, "/api/v1/fabrics")
	var list fabricList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 {
		t.Fatalf("GET /api/v1/fabrics = %d %s; want 200 and JSON", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), token) || strings.Contains(rec.Body.String(), "@github.com") {
		t.Errorf("GET /api/v1/fabrics = %s; want no user info in it", rec.Body)
	}
	if list.Config.OK || !strings.Contains(list.Config.Error, "credentials must not be in the URL") {
		t.Errorf("config status = %+v; want the file refused for the credentials in its URL", list.Config)
	}
	if len(list.Fabrics) != 1 || list.Fabrics[0].Repo != "https://github.com/o/r.git" {
		t.Errorf("fabrics = %+v; want the last good one", list.Fabrics)
	}
	if rec := get(e, "/readyz"); strings.Contains(rec.Body.String(), token) {
		t.Errorf("GET /readyz = %s; leaks the token", rec.Body)
	}
}
