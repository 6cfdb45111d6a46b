package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSetup runs scripts/testdeps.sh, the first step of `make test` and of CI, under a PATH that
// holds only what each case puts there: fake executables for the tools the tests need, and a fake
// apt-get that records its calls (and, where the case allows, "installs" a package by creating
// its command). Nothing real is ever installed, and no case needs root.
func TestSetup(t *testing.T) {
	bash := lookPathOrFail(t, "bash")
	env := lookPathOrFail(t, "env")
	chmod := lookPathOrFail(t, "chmod")
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "testdeps.sh"))
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"redis-server", "git", "chromium", "gcc", "make", "gpg", "ssh-keygen"}
	// The install command the script prints: a root user needs no sudo.
	install := "sudo apt-get install -y"
	if os.Geteuid() == 0 {
		install = "apt-get install -y"
	}
	noInstall := []string{"FABSYNC_TESTDEPS_NO_INSTALL=1"}

	tests := []struct {
		name     string
		tools    []string // fake executables on PATH
		noFonts  bool     // no font in the font directory
		apt      string   // "": no apt-get on PATH; "record": one that only records; "install": one that installs
		env      []string // more environment for the script
		wantOK   bool
		wantOut  []string // each a line of the output, in order
		wantApt  []string // apt-get's calls, in order
		wantTool []string // commands that must exist afterwards
	}{
		{
			name:    "nothing installed, installing not allowed",
			apt:     "record",
			env:     noInstall,
			wantOut: []string{"testdeps: missing redis-server, git, chromium, gcc, make, gnupg, openssh-client; install them with: " + install + " redis-server git chromium gcc make gnupg openssh-client"},
		},
		{
			name:    "nothing installed, no apt-get",
			wantOut: []string{"testdeps: missing redis-server, git, chromium, gcc, make, gnupg, openssh-client; install them with: " + install + " redis-server git chromium gcc make gnupg openssh-client (Debian package names)"},
		},
		{
			name:    "some missing",
			tools:   []string{"git", "gcc", "make", "gpg", "ssh-keygen"},
			apt:     "record",
			env:     noInstall,
			wantOut: []string{"testdeps: missing redis-server, chromium; install them with: " + install + " redis-server chromium"},
		},
		{
			name:    "chromium without fonts",
			tools:   all,
			noFonts: true,
			apt:     "record",
			env:     noInstall,
			wantOut: []string{"testdeps: missing fonts-liberation; install it with: " + install + " fonts-liberation"},
		},
		{
			name:   "everything present",
			tools:  all,
			apt:    "record",
			wantOK: true,
		},
		{
			name:   "everything present, installing not allowed",
			tools:  all,
			env:    noInstall,
			wantOK: true,
		},
		{
			name:   "installs what is missing",
			tools:  []string{"git", "gcc", "make", "gpg", "ssh-keygen"},
			apt:    "install",
			wantOK: true,
			wantOut: []string{
				"testdeps: installing redis-server (for the private Redis each test package starts)",
				"testdeps: installing chromium (for the browser tests)",
			},
			wantApt: []string{
				"DEBIAN_FRONTEND=noninteractive update -qq",
				"DEBIAN_FRONTEND=noninteractive install -y -qq redis-server chromium",
			},
			wantTool: []string{"redis-server", "chromium"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			for _, tool := range []string{bash, env} {
				if err := os.Symlink(tool, filepath.Join(bin, filepath.Base(tool))); err != nil {
					t.Fatal(err)
				}
			}
			for _, tool := range tt.tools {
				writeExecutable(t, filepath.Join(bin, tool), "#!"+bash+"\nexit 0\n")
			}
			fonts := t.TempDir()
			if !tt.noFonts {
				if err := os.MkdirAll(filepath.Join(fonts, "truetype", "fake"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(fonts, "truetype", "fake", "Fake.ttf"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			aptLog := filepath.Join(t.TempDir(), "apt.log")
			if tt.apt != "" {
				// A sudo that asks no password, for when the test does not run as root.
				writeExecutable(t, filepath.Join(bin, "sudo"), "#!"+bash+"\n[ \"$1\" = -n ] && shift\n\"$@\"\n")
				installs := "exit 1"
				if tt.apt == "install" {
					installs = fmt.Sprintf(`[ "$1" = install ] || exit 0
for p in "$@"; do
  case $p in -*|install) continue ;; esac
  printf '#!%s\nexit 0\n' > %q/"$p" && %q +x %q/"$p"
done`, bash, bin, chmod, bin)
				}
				writeExecutable(t, filepath.Join(bin, "apt-get"), fmt.Sprintf("#!%s\necho \"DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*\" >> %q\n%s\n", bash, aptLog, installs))
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bash, script)
			cmd.Env = append([]string{"PATH=" + bin, "HOME=" + t.TempDir(), "FABSYNC_TESTDEPS_FONT_DIR=" + fonts}, tt.env...)
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("testdeps.sh did not finish within 10s; output:\n%s", out)
			}
			if ok := err == nil; ok != tt.wantOK {
				t.Errorf("testdeps.sh: err = %v; want success %v; output:\n%s", err, tt.wantOK, out)
			}
			if got := lines(string(out)); !slices.Equal(got, tt.wantOut) {
				t.Errorf("testdeps.sh printed %q; want %q", got, tt.wantOut)
			}
			calls, err := os.ReadFile(aptLog)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if got := lines(string(calls)); !slices.Equal(got, tt.wantApt) {
				t.Errorf("apt-get calls = %q; want %q", got, tt.wantApt)
			}
			for _, tool := range tt.wantTool {
				if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
					t.Errorf("%s was not installed: %v", tool, err)
				}
			}
		})
	}
}

func lookPathOrFail(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: the set-up step needs it: %v", name, err)
	}
	return p
}

func writeExecutable(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// lines splits s into its non-empty lines (nil for none).
func lines(s string) []string {
	var ls []string
	for l := range strings.Lines(s) {
		if l = strings.TrimRight(l, "\n"); l != "" {
			ls = append(ls, l)
		}
	}
	return ls
}
