package e2e_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserConfigBanner breaks the fabrics file under a running system and checks that the
// UI says so at the top, naming the line, while the last good fabrics stay listed; then fixes
// the file and checks that the banner goes away.
func TestBrowserConfigBanner(t *testing.T) {
	const good = "fabrics:\n  - {name: fab, repo: /srv/git/gitops.git}\n"
	sys := start(t, good, options{workers: -1})
	p := newPage(t, sys)
	p.do("wait for the fabrics", chromedp.WaitVisible(chromedp.CSS("#fabric-fab")))
	if eval[bool](p, `!document.getElementById("config-banner").hidden`) {
		t.Errorf("the config banner shows %q while the file is valid", p.text("#config-banner"))
	}

	// Line 5 has a field no fabric has. The UI polls every 5 s.
	writeConfig(t, sys.cfgPath, "fabrics:\n  - {name: fab, repo: /srv/git/gitops.git}\n  - name: lab\n    repo: /srv/git/lab.git\n    colour: red\n")
	p.do("wait for the banner", chromedp.WaitVisible(chromedp.CSS("#config-banner")))
	got := p.text("#config-banner")
	for _, want := range []string{"fabrics file invalid since ", "line 5: field colour not found", "; still running the last good one"} {
		if !strings.Contains(got, want) {
			t.Errorf("banner = %q; want it to say %q", got, want)
		}
	}
	if strings.Contains(got, sys.cfgPath) {
		t.Errorf("banner = %q; want no file path", got)
	}
	if got := p.text("#fabric-fab"); !strings.Contains(got, "/srv/git/gitops.git") {
		t.Errorf("fabric row = %q; want the last good fabric still listed", got)
	}
	if eval[bool](p, `document.getElementById("fabric-lab") !== null`) {
		t.Error("the fabric of the invalid file is listed")
	}
	p.shot("config_invalid")

	writeConfig(t, sys.cfgPath, good+"  - {name: lab, repo: /srv/git/lab.git}\n")
	p.do("wait for the banner to go",
		chromedp.WaitVisible(chromedp.CSS("#fabric-lab")),
		chromedp.WaitNotVisible(chromedp.CSS("#config-banner")),
	)
}

// writeConfig replaces the fabrics file, with a modification time the Source cannot mistake for
// the previous one's.
func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	mt := fi.ModTime().Add(time.Second)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}
