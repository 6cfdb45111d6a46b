package server

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/config"
)

// TestConfigStatus changes the fabrics file under a running server (valid, invalid, valid
// again) and checks what /readyz, GET /api/v1/fabrics and /metrics say at each step.
func TestConfigStatus(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fabsync.yaml")
	t0 := time.Date(2025, 3, 1, 10, 42, 0, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	mtime := t0
	write := func(content string) {
		t.Helper()
		writeFile(t, p, content)
		mtime = mtime.Add(time.Second)
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write("fabrics:\n  - {name: a, repo: /r}\n")
	src, err := config.NewSource(p, config.SourceConfig{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	e := newTestServer(t, src)

	const errUnknown = "line 4: field colour not found in type config.Fabric"
	tests := []struct {
		name    string
		content string // "" leaves the file as it is
		want    configStatus
		metric  string // fabsync_config_valid
	}{
		{"valid", "", configStatus{OK: true, LastGood: t0}, "1"},
		{"invalid", "fabrics:\n  - name: b\n    repo: /r\n    colour: red\n",
			configStatus{Error: errUnknown, Since: t0.Add(time.Minute), LastGood: t0}, "0"},
		{"valid again", "fabrics:\n  - {name: a, repo: /r}\n  - {name: c, repo: /r}\n",
			configStatus{OK: true, LastGood: t0.Add(2 * time.Minute)}, "1"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			now = t0.Add(time.Duration(i) * time.Minute)
			mu.Unlock()
			if tt.content != "" {
				write(tt.content)
			}

			rec := get(e, "/readyz")
			var ready readyBody
			if err := json.Unmarshal(rec.Body.Bytes(), &ready); err != nil || rec.Code != 200 {
				t.Fatalf("GET /readyz = %d %s; want 200 and JSON", rec.Code, rec.Body)
			}
			if diff := cmp.Diff(readyBody{Status: "ready", Config: tt.want}, ready); diff != "" {
				t.Errorf("GET /readyz (-want +got):\n%s", diff)
			}
			if !tt.want.OK && !strings.Contains(rec.Body.String(), `"since":"2025-03-01T10:43:00Z"`) {
				t.Errorf("GET /readyz = %s; want since in RFC 3339", rec.Body)
			}
			if tt.want.OK && strings.Contains(rec.Body.String(), `"since"`) {
				t.Errorf("GET /readyz = %s; want no since while the file is valid", rec.Body)
			}

			rec = get(e, "/api/v1/fabrics")
			var list fabricList
			if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 {
				t.Fatalf("GET /api/v1/fabrics = %d %s; want 200 and JSON", rec.Code, rec.Body)
			}
			if diff := cmp.Diff(tt.want, list.Config); diff != "" {
				t.Errorf("GET /api/v1/fabrics config (-want +got):\n%s", diff)
			}
			// While the file is invalid, the last good fabrics are listed.
			wantNames := map[string]string{"valid": "a", "invalid": "a", "valid again": "a c"}[tt.name]
			var names []string
			for _, f := range list.Fabrics {
				names = append(names, f.Name)
			}
			if got := strings.Join(names, " "); got != wantNames {
				t.Errorf("GET /api/v1/fabrics lists %q; want %q", got, wantNames)
			}

			rec = get(e, "/metrics")
			m := samples(t, rec.Body.String())
			if got := m["fabsync_config_valid"]; got != tt.metric {
				t.Errorf("fabsync_config_valid = %q; want %s", got, tt.metric)
			}
			ts, err := strconv.ParseFloat(m["fabsync_config_last_reload_success_timestamp_seconds"], 64)
			if err != nil || ts != float64(tt.want.LastGood.Unix()) {
				t.Errorf("fabsync_config_last_reload_success_timestamp_seconds = %v (%v); want %d", ts, err, tt.want.LastGood.Unix())
			}
		})
	}
}

// samples returns the unlabeled samples of a Prometheus text exposition.
func samples(t testing.TB, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if ok && !strings.HasPrefix(name, "#") && !strings.Contains(name, "{") {
			out[name] = v
		}
	}
	if len(out) == 0 {
		t.Fatalf("no metrics in %q", text)
	}
	return out
}
