package e2e_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The compose quickstart must be safe as it is: no engine runs here, so these tests read the
// files that docker would.

// composeFile is the part of docker-compose.yml the tests read.
type composeFile struct {
	Services map[string]struct {
		Environment map[string]string `yaml:"environment"`
		Ports       []yaml.Node       `yaml:"ports"`
		Volumes     []yaml.Node       `yaml:"volumes"`
	} `yaml:"services"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"redis", "api", "worker"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("docker-compose.yml has no service %s", name)
		}
	}
	return c
}

// TestComposePublishesOnLoopbackOnly: no service publishes a port on all of the host's
// interfaces ("8080:8080" and "8080" do; "127.0.0.1:8080:8080" does not).
func TestComposePublishesOnLoopbackOnly(t *testing.T) {
	c := readCompose(t)
	published := 0
	for name, s := range c.Services {
		for _, p := range s.Ports {
			var hostIP string
			switch p.Kind {
			case yaml.ScalarNode: // [host_ip:][host_port:]container_port[/proto]
				spec, _, _ := strings.Cut(p.Value, "/")
				if strings.HasPrefix(spec, "[") { // [::1]:8080:8080
					hostIP, _, _ = strings.Cut(strings.TrimPrefix(spec, "["), "]")
				} else if parts := strings.Split(spec, ":"); len(parts) == 3 {
					hostIP = parts[0]
				}
			case yaml.MappingNode: // {target: 8080, published: 8080, host_ip: 127.0.0.1}
				var long struct {
					HostIP string `yaml:"host_ip"`
				}
				if err := p.Decode(&long); err != nil {
					t.Fatalf("service %s: ports: %v", name, err)
				}
				hostIP = long.HostIP
			default:
				t.Fatalf("service %s: ports entry at line %d is neither a string nor a mapping", name, p.Line)
			}
			switch hostIP {
			case "127.0.0.1", "::1", "localhost":
				published++
			default:
				t.Errorf("service %s publishes %q on all interfaces (line %d); want 127.0.0.1:...", name, p.Value, p.Line)
			}
		}
	}
	if published == 0 {
		t.Error("no service publishes a port: the quickstart's UI would be unreachable")
	}
}

// TestComposeRequiresAPIToken: the API does not start without FABSYNC_API_TOKEN (compose's
// ${VAR:?message} fails when it is unset or empty).
func TestComposeRequiresAPIToken(t *testing.T) {
	c := readCompose(t)
	v, ok := c.Services["api"].Environment["FABSYNC_API_TOKEN"]
	if !ok || !regexp.MustCompile(`^\$\{FABSYNC_API_TOKEN:\?[^}]+\}$`).MatchString(v) {
		t.Errorf("api: FABSYNC_API_TOKEN = %q; want ${FABSYNC_API_TOKEN:?message}, so that compose refuses to start without it", v)
	}
}

// TestComposeMountsConfigFolder: the fabrics file's folder is mounted read-only (a mounted
// file would not see an editor's replacement of it, and a missing one would become a folder),
// in every service that reads FABSYNC_CONFIG.
func TestComposeMountsConfigFolder(t *testing.T) {
	c := readCompose(t)
	for _, name := range []string{"api", "worker"} {
		s := c.Services[name]
		cfg := s.Environment["FABSYNC_CONFIG"]
		if cfg == "" {
			t.Errorf("%s: FABSYNC_CONFIG is not set", name)
			continue
		}
		found := false
		for _, v := range s.Volumes {
			if v.Kind != yaml.ScalarNode {
				t.Fatalf("%s: volumes entry at line %d: want the short form source:target[:ro]", name, v.Line)
			}
			parts := strings.Split(v.Value, ":")
			if len(parts) < 2 || parts[1] != filepath.Dir(cfg) {
				continue
			}
			found = true
			if len(parts) != 3 || !strings.Contains(parts[2], "ro") {
				t.Errorf("%s: %q mounts the fabrics folder writable; want :ro", name, v.Value)
			}
			if ext := filepath.Ext(parts[0]); ext == ".yaml" || ext == ".yml" {
				t.Errorf("%s: %q mounts a file; want its folder", name, v.Value)
			}
		}
		for _, v := range s.Volumes {
			if strings.Contains(v.Value, ":"+cfg) {
				t.Errorf("%s: %q mounts the fabrics file itself; want its folder", name, v.Value)
			}
		}
		if !found {
			t.Errorf("%s: no volume mounts %s, the folder of FABSYNC_CONFIG=%s", name, filepath.Dir(cfg), cfg)
		}
	}
}

// TestDockerfile: the image listens on all interfaces inside its container (so that a
// published port reaches it) and runs as a user other than root; the build context leaves out
// the repository's history and local data.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	if !regexp.MustCompile(`(?m)^ENV .*\bFABSYNC_LISTEN=0\.0\.0\.0:8080\b`).MatchString(df) {
		t.Error("Dockerfile: want ENV FABSYNC_LISTEN=0.0.0.0:8080")
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(df, -1)
	if len(users) == 0 {
		t.Error("Dockerfile: no USER; the image would run as root")
	} else if u := users[len(users)-1][1]; u == "root" || u == "0" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root:") {
		t.Errorf("Dockerfile: USER %s; want a user other than root", u)
	}

	b, err = os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	ignored := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		ignored[strings.TrimSpace(line)] = true
	}
	for _, want := range []string{".git", ".data", ".bin", "bin", "**/*.test"} {
		if !ignored[want] {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}
