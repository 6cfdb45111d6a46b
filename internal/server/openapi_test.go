package server

import (
	"log/slog"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestOpenAPIMatchesRoutes checks that every route of the router is documented in
// openapi.yaml and that every documented operation is routed. The UI ("/*") and Asynqmon
// ("/monitoring…") are not part of the API and are left out on both sides.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "fabsync.yaml")
	writeFile(t, cfgPath, "fabrics: []\n")
	src, err := config.NewSource(cfgPath, config.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed by New
	defer func() { _ = rdb.Close() }()
	e, err := New(Config{Service: tasks.NewService(rdb), Redis: rdb, Fabrics: src, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`:([a-z]+)`)
	routed := map[string]bool{}
	for _, r := range e.Routes() {
		if r.Path == "/*" || strings.HasPrefix(r.Path, "/monitoring") || r.Method == "echo_route_not_found" {
			continue
		}
		routed[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			if m == "parameters" {
				continue
			}
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	for _, k := range sorted(routed) {
		if !documented[k] {
			t.Errorf("route %s is not in openapi.yaml", k)
		}
	}
	for _, k := range sorted(documented) {
		if !routed[k] {
			t.Errorf("openapi.yaml documents %s, which is not routed", k)
		}
	}
	if len(routed) < 10 {
		t.Errorf("only %d routes found: %v", len(routed), routed)
	}
}

func sorted(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
