package e2e_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportRules enforces STYLE.md §1's table of who may import whom (the same rules as the
// depguard config in .golangci.yml, checked here without needing golangci-lint). Test files are
// included except where noted: a test of a pure package must not reach for I/O packages either,
// except to read testdata.
func TestImportRules(t *testing.T) {
	const mod = "github.com/fabsync/fabsync/"
	rules := []struct {
		dir      string
		deny     []string
		testsToo bool
	}{
		{"internal/ingest", []string{"github.com/hibiken/asynq", "github.com/redis/", "github.com/labstack/echo", "github.com/go-git/", "log/slog", "net", "os", "time/tzdata", mod}, false},
		{"internal/gitops", []string{"github.com/hibiken/asynq", "github.com/redis/", "github.com/labstack/echo", mod + "internal/ingest", mod + "internal/tasks"}, true},
		{"internal/tasks", []string{"github.com/labstack/echo", mod + "internal/server"}, true},
		{"internal/server", []string{mod + "internal/gitops", "github.com/go-git/"}, false},
		{"cmd/api", []string{mod + "internal/gitops", "github.com/go-git/", mod + "internal/worker"}, true},
		{"internal/worker", []string{"github.com/labstack/echo", mod + "internal/server"}, true},
		{"cmd/worker", []string{"github.com/labstack/echo", mod + "internal/server"}, true},
		{"internal/config", []string{"github.com/hibiken/asynq", "github.com/go-git/", "github.com/labstack/echo", mod}, true},
	}
	root := filepath.Join("..", "..")
	for _, r := range rules {
		err := filepath.WalkDir(filepath.Join(root, r.dir), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || (!r.testsToo && strings.HasSuffix(p, "_test.go")) {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, deny := range r.deny {
					var hit bool
					switch {
					case deny == mod: // no other package of ours
						hit = strings.HasPrefix(path, mod) && !strings.HasPrefix(path, mod+r.dir)
					case strings.HasSuffix(deny, "/"): // a whole module tree
						hit = strings.HasPrefix(path, deny)
					default:
						hit = path == deny || strings.HasPrefix(path, deny+"/")
					}
					if hit {
						t.Errorf("%s imports %s: not allowed in %s (STYLE.md §1)", p, path, r.dir)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", r.dir, err)
		}
	}
}
