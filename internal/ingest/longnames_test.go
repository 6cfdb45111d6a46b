package ingest_test

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/ingest"
)

// resourceDoc is one resource of the given kind and apiVersion; an empty
// namespace is left out.
func resourceDoc(apiVersion, kind, namespace, name string) string {
	s := "apiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata:\n  name: " + name + "\n"
	if namespace != "" {
		s += "  namespace: " + namespace + "\n"
	}
	return s
}

// dns returns a valid DNS-1123 subdomain of exactly n characters that ends
// in tail, so that names of one length can differ.
func dns(n int, tail string) string {
	var b strings.Builder
	for b.Len() < n-len(tail) {
		b.WriteString("abcdefghij.")
	}
	s := strings.TrimRight(b.String()[:n-len(tail)], ".-") + tail
	for len(s) < n {
		s = "x" + s
	}
	return s
}

// TestLongNames checks names that Kubernetes accepts but that would make a
// file name over the 255-byte limit of file systems: every name Ingest
// writes fits, on a real disk too, the manifest keeps the full name, and a
// second ingest finds and replaces the same files.
func TestLongNames(t *testing.T) {
	const vpcAPI, swAPI = "vpc.githedgehog.com/v1beta1", "wiring.githedgehog.com/v1beta1"
	ns63 := "ns-" + strings.Repeat("x", 60)
	tests := []struct {
		name string
		raw  string   // raw file name
		docs []string // documents of the raw file
		// want are resource files with the namespace and name the manifest
		// must give them; a path of "" is only checked to fit.
		want []manifestEntry
		// wantArchive is the archive copy's name under .hnp/archive/job-1/,
		// if not the raw file name and ".archived".
		wantArchive string
	}{
		{
			name: "253-character name",
			raw:  "a.yaml",
			docs: []string{resourceDoc(swAPI, "Switch", "", dns(253, "-1"))},
			want: []manifestEntry{{Path: "managed/switches/" + dns(253, "-1")[:233] + "_9b4c0b0e9eafa2bc.yaml", Name: dns(253, "-1")}},
		},
		{
			name: "63-character namespace and 190-character name",
			raw:  "a.yaml",
			docs: []string{resourceDoc(vpcAPI, "VPC", ns63, dns(190, ""))},
			want: []manifestEntry{{Path: "managed/vpcs/" + (ns63 + "_" + dns(190, ""))[:233] + "_e8769dd9869c2afb.yaml", Namespace: ns63, Name: dns(190, "")}},
		},
		{
			name: "names that just fit are not shortened",
			raw:  "a.yaml",
			docs: []string{
				resourceDoc(swAPI, "Switch", "", dns(250, "")),
				resourceDoc(vpcAPI, "VPC", ns63, dns(186, "")),
				resourceDoc(vpcAPI, "VPC", "default", dns(250, "")),
			},
			want: []manifestEntry{
				{Path: "managed/switches/" + dns(250, "") + ".yaml", Name: dns(250, "")},
				{Path: "managed/vpcs/" + ns63 + "_" + dns(186, "") + ".yaml", Namespace: ns63, Name: dns(186, "")},
				{Path: "managed/vpcs/" + dns(250, "") + ".yaml", Namespace: "default", Name: dns(250, "")},
			},
		},
		{
			name: "one byte over, and names sharing the kept prefix",
			raw:  "a.yaml",
			docs: []string{
				resourceDoc(swAPI, "Switch", "", dns(251, "")),
				resourceDoc(swAPI, "Switch", "", dns(253, "-1")),
				resourceDoc(swAPI, "Switch", "", dns(253, "-2")),
				resourceDoc(vpcAPI, "VPC", ns63, dns(187, "")),
				resourceDoc(vpcAPI, "VPC", ns63, dns(253, "")),
			},
			want: []manifestEntry{
				{Name: dns(251, "")},
				{Name: dns(253, "-1")},
				{Name: dns(253, "-2")},
				{Namespace: ns63, Name: dns(187, "")},
				{Namespace: ns63, Name: dns(253, "")},
			},
		},
		{
			name: "unmanaged kind of 63 characters",
			raw:  "a.yaml",
			docs: []string{resourceDoc("example.com/v1", "K"+strings.Repeat("x", 61)+"s", ns63, dns(253, ""))},
			want: []manifestEntry{{Namespace: ns63, Name: dns(253, "")}},
		},
		{
			name: "multibyte raw file name near the limit",
			raw:  strings.Repeat("é", 123) + ".yaml", // 251 bytes; its archive copy would be 260
			docs: []string{resourceDoc(swAPI, "Switch", "", "s")},
			want: []manifestEntry{{Path: "managed/switches/s.yaml", Name: "s"}},
			// 229 bytes would end inside an "é".
			wantArchive: strings.Repeat("é", 114) + "_90f902afd990e3ea.archived",
		},
		{
			name:        "raw file name of 255 bytes in 4-byte characters",
			raw:         "xyz" + strings.Repeat("😀", 62) + ".yml", // 3+248+4 bytes; its archive copy would be 264
			docs:        []string{resourceDoc(swAPI, "Switch", "", dns(253, "-1"))},
			want:        []manifestEntry{{Name: dns(253, "-1")}},
			wantArchive: "xyz" + strings.Repeat("😀", 56) + "_14c7ef23aa03084b.archived",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rawPath := "raw/" + tt.raw
			raw := fstest.MapFS{rawPath: file(strings.Join(tt.docs, "---\n"))}
			tree := maps.Clone(raw)
			w := newMemWriter()
			res, err := ingest.Ingest(t.Context(), tree, testOpts, w)
			if err != nil {
				t.Fatalf("Ingest() = %v; want success", err)
			}
			checkWritten(t, w)
			checkIdempotent(t, w)
			if res.Created != len(tt.docs) {
				t.Errorf("Created = %d; want %d", res.Created, len(tt.docs))
			}
			m := readManifestOf(t, w.files)
			if len(m) != len(tt.docs) {
				t.Errorf("manifest has %d entries; want %d:\n%s", len(m), len(tt.docs), w.files[ingest.ManifestPath])
			}
			byName := map[[2]string]manifestEntry{}
			for _, e := range m {
				byName[[2]string{e.Namespace, e.Name}] = e
				if _, ok := w.files[e.Path]; !ok {
					t.Errorf("manifest lists %s, which was not written", e.Path)
				}
			}
			for _, want := range tt.want {
				got, ok := byName[[2]string{want.Namespace, want.Name}]
				if !ok {
					t.Errorf("manifest has no entry for namespace %q, name %q:\n%s", want.Namespace, want.Name, w.files[ingest.ManifestPath])
					continue
				}
				if want.Path != "" && got.Path != want.Path {
					t.Errorf("resource %q is at\n%s; want\n%s", want.Name, got.Path, want.Path)
				}
			}
			// The archive copy fits too and is named in the archive log.
			archived := ".hnp/archive/job-1/" + tt.raw + ".archived"
			if tt.wantArchive != "" {
				archived = ".hnp/archive/job-1/" + tt.wantArchive
			}
			if got := string(w.files[archived]); got != string(raw[rawPath].Data) {
				t.Errorf("archive copy %s = %q; want the raw bytes", archived, got)
			}
			if log := string(w.files[ingest.ArchiveLogPath]); !strings.Contains(log, archived) {
				t.Errorf("archive log does not name %s:\n%s", archived, log)
			}

			// A real file system takes every name.
			root, err := os.OpenRoot(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = root.Close() })
			disk := diskWriter{root}
			if _, err := ingest.Ingest(t.Context(), maps.Clone(raw), testOpts, disk); err != nil {
				t.Fatalf("Ingest() onto disk = %v; want success", err)
			}
			for p, data := range w.files {
				got, err := fs.ReadFile(root.FS(), p)
				if err != nil || string(got) != string(data) {
					t.Errorf("on disk %s = %q, %v; want what the Writer got", p, got, err)
				}
			}

			// Ingesting the same raw file again finds the same files; a
			// changed document replaces its file.
			apply(tree, w)
			maps.Copy(tree, raw)
			opts := testOpts
			opts.JobID = "job-2"
			res, err = ingest.Ingest(t.Context(), tree, opts, newMemWriter())
			if err != nil || res.Unchanged != len(tt.docs) || res.Created+res.Updated != 0 {
				t.Errorf("second Ingest() = %+v, %v; want every resource unchanged", res, err)
			}
			changed := make([]string, len(tt.docs))
			for i, d := range tt.docs {
				changed[i] = d + "spec:\n  description: changed\n"
			}
			tree[rawPath] = file(strings.Join(changed, "---\n"))
			opts.JobID = "job-3"
			w3 := newMemWriter()
			res, err = ingest.Ingest(t.Context(), tree, opts, w3)
			if err != nil || res.Updated != len(tt.docs) || res.Created != 0 {
				t.Fatalf("Ingest() of changed documents = %+v, %v; want every resource updated", res, err)
			}
			if diff := cmp.Diff(m, readManifestOf(t, w3.files), cmp.Comparer(func(a, b manifestEntry) bool {
				return a.Path == b.Path && a.Namespace == b.Namespace && a.Name == b.Name
			})); diff != "" {
				t.Errorf("manifest after a change lists other files (-first +changed):\n%s", diff)
			}
		})
	}
}

// TestLongNamesRejected checks what cannot be made to fit: a name that is
// not a DNS-1123 subdomain (multibyte characters, say) is reported at
// metadata.name before any file name is built.
func TestLongNamesRejected(t *testing.T) {
	fsys := fstest.MapFS{"raw/a.yaml": file(sw(strings.Repeat("é", 100)))}
	w := newMemWriter()
	_, err := ingest.Ingest(t.Context(), fsys, testOpts, w)
	var ve *ingest.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || w.calls != 0 {
		t.Fatalf("Ingest() = %v with %d Writer calls; want one problem and none", err, w.calls)
	}
	want := ingest.Problem{File: "raw/a.yaml", Document: 1, Line: 4, Column: 9,
		Message: `metadata.name "` + strings.Repeat("é", 80) + `…" is not a valid DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253)`,
		Rule:    ingest.RuleIngest, Severity: ingest.SeverityError}
	got := ve.Problems[0]
	if !strings.Contains(got.Excerpt, "4 |") || !strings.Contains(got.Excerpt, "^") {
		t.Errorf("excerpt %q; want line 4 and a caret", got.Excerpt)
	}
	got.Excerpt = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problem differs (-want +got):\n%s", diff)
	}
}

// manifestEntry is the part of a manifest entry these tests check.
type manifestEntry struct {
	Path      string `yaml:"path"`
	Namespace string `yaml:"namespace"`
	Name      string `yaml:"name"`
}

func readManifestOf(t testing.TB, files map[string][]byte) []manifestEntry {
	t.Helper()
	var m struct {
		Resources []manifestEntry `yaml:"resources"`
	}
	if err := yaml.Unmarshal(files[ingest.ManifestPath], &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m.Resources
}

// diskWriter writes into a folder on disk, as the worker does.
type diskWriter struct{ root *os.Root }

func (w diskWriter) WriteFile(name string, data []byte) error {
	p := filepath.FromSlash(name)
	if err := w.root.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return w.root.WriteFile(p, data, 0o644)
}

func (w diskWriter) Remove(name string) error {
	err := w.root.Remove(filepath.FromSlash(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // the raw files are in the MapFS, not on disk
	}
	return err
}
