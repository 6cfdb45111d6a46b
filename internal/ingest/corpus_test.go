package ingest_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/sharedtest"
)

// hedgehogFiles returns the shared real Hedgehog wiring files (see
// SOURCES.txt in their folder).
func hedgehogFiles(t testing.TB) []string {
	t.Helper()
	dir := sharedtest.Dir(t, "hedgehog")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.yaml in %s: the shared Hedgehog samples are incomplete", dir)
	}
	return files
}

// corpusWant is what SOURCES.txt says about each sample: documents per
// folder.
var corpusWant = map[string]map[string]int{
	"gitops-test-1_prepop.yaml": {
		"managed/switchgroups": 3, "managed/switches": 7, "managed/servers": 10, "managed/connections": 26,
	},
	"gitops-test-1_test-vpc.yaml": {"managed/vpcs": 1},
	"lab-ci_env-ci-1_wiring.yaml": {
		"managed/vlannamespaces": 1, "managed/ipv4namespaces": 1, "managed/switchgroups": 3, "managed/switches": 6,
		"managed/servers": 8, "managed/connections": 24, "managed/externals": 3, "managed/externalattachments": 5,
	},
	"lab-ci_env-ci-1_wiring-gateway.yaml": {
		"unmanaged/gatewaygroups": 1, "unmanaged/gateways": 2, "managed/connections": 2,
	},
	"demo-gitops_env-1_demo.yaml": {
		"managed/vpcs": 1, "managed/vpcattachments": 1, "managed/vpcpeerings": 1, "managed/externalpeerings": 1,
	},
	"fabric_collapsedcore.vlab.gen.v1alpha2.yaml": {
		"unmanaged/racks": 1, "unmanaged/nats": 1, "managed/switches": 2, "managed/servers": 5, "managed/connections": 9,
	},
}

// TestCorpus ingests every real-world sample and checks that each document
// lands where SPEC §1 says, that none is lost, and that the output is
// idempotent.
func TestCorpus(t *testing.T) {
	for _, path := range hedgehogFiles(t) {
		base := filepath.Base(path)
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			fsys := fstest.MapFS{"raw/" + base: &fstest.MapFile{Data: data}}
			w := newMemWriter()
			res, err := ingest.Ingest(t.Context(), fsys, testOpts, w)
			if err != nil {
				t.Fatalf("Ingest(%s) = %v", base, err)
			}
			checkWritten(t, w)
			checkIdempotent(t, w)

			docs := countDocuments(t, data)
			perDir := map[string]int{}
			for p, out := range w.files {
				if !strings.HasPrefix(p, "managed/") && !strings.HasPrefix(p, "unmanaged/") {
					continue
				}
				perDir[filepath.Dir(p)]++
				checkPlacement(t, p, out)
			}
			resourceFiles := 0
			for _, n := range perDir {
				resourceFiles += n
			}
			if res.Documents != docs || resourceFiles != docs || res.Created != docs {
				t.Errorf("documents in = %d; Result.Documents = %d, resource files written = %d, Created = %d; want all equal",
					docs, res.Documents, resourceFiles, res.Created)
			}
			if want, ok := corpusWant[base]; ok {
				for dir, n := range want {
					if perDir[dir] != n {
						t.Errorf("%s: %d files; want %d (SOURCES.txt)", dir, perDir[dir], n)
					}
				}
				for dir, n := range perDir {
					if _, ok := want[dir]; !ok {
						t.Errorf("%s: %d unexpected files", dir, n)
					}
				}
			} else {
				t.Logf("%s is not described in corpusWant; only generic checks ran", base)
			}
			unmanaged := 0
			for dir, n := range perDir {
				if strings.HasPrefix(dir, "unmanaged/") {
					unmanaged += n
				}
			}
			if len(res.Warnings) != unmanaged {
				t.Errorf("%d warnings for %d unmanaged resources; want one each: %q", len(res.Warnings), unmanaged, res.Warnings)
			}
			if res.Files != 1 || res.Archived != 1 || !bytes.Equal(w.files[".hnp/archive/job-1/"+base+".archived"], data) {
				t.Errorf("Files, Archived = %d, %d and the archive copy must equal the raw file", res.Files, res.Archived)
			}
		})
	}
}

// TestCorpusTogether ingests all samples in one run, as one raw/ folder.
func TestCorpusTogether(t *testing.T) {
	fsys := fstest.MapFS{}
	total := 0
	for _, path := range hedgehogFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fsys["raw/samples/"+filepath.Base(path)] = &fstest.MapFile{Data: data}
		total += countDocuments(t, data)
	}
	w := newMemWriter()
	res, err := ingest.Ingest(t.Context(), fsys, testOpts, w)
	var ve *ingest.ValidationError
	if errors.As(err, &ve) {
		// Samples from different fabrics may reuse names; that is a
		// duplicate, reported with both places.
		for _, p := range ve.Problems {
			if !strings.HasPrefix(p.Message, "duplicate resource ") || !strings.Contains(p.Message, "also defined in raw/samples/") {
				t.Errorf("unexpected problem: %s", p)
			}
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Documents != total {
		t.Errorf("Documents = %d; want %d", res.Documents, total)
	}
	checkIdempotent(t, w)
}

// countDocuments counts the non-empty documents of a stream with yaml.v3
// alone, independently of ingest's splitter.
func countDocuments(t testing.TB, data []byte) int {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("yaml.v3 cannot read the sample: %v", err)
		}
		if len(doc.Content) > 0 && doc.Content[0].ShortTag() != "!!null" {
			n++
		}
	}
}

var managedDirs = map[string]string{
	"VPC": "vpcs", "VPCAttachment": "vpcattachments", "VPCPeering": "vpcpeerings", "External": "externals",
	"ExternalAttachment": "externalattachments", "ExternalPeering": "externalpeerings",
	"IPv4Namespace": "ipv4namespaces", "VLANNamespace": "vlannamespaces", "Connection": "connections",
	"Server": "servers", "Switch": "switches", "SwitchGroup": "switchgroups",
}

var unmanagedDirs = map[string]string{"Gateway": "gateways", "GatewayGroup": "gatewaygroups", "NAT": "nats", "Rack": "racks"}

// checkPlacement checks that a resource file sits where SPEC §1 puts its
// kind and group, and has no status.
func checkPlacement(t testing.TB, p string, out []byte) {
	t.Helper()
	var r struct {
		APIVersion string         `yaml:"apiVersion"`
		Kind       string         `yaml:"kind"`
		Status     any            `yaml:"status"`
		Metadata   map[string]any `yaml:"metadata"`
	}
	if err := yaml.Unmarshal(out, &r); err != nil {
		t.Errorf("%s: %v", p, err)
		return
	}
	group, _, _ := strings.Cut(r.APIVersion, "/")
	var want string
	if d, ok := managedDirs[r.Kind]; ok && strings.HasSuffix(group, "githedgehog.com") {
		want = "managed/" + d
	} else {
		want = "unmanaged/" + unmanagedDirs[r.Kind]
	}
	name, _ := r.Metadata["name"].(string)
	ns, _ := r.Metadata["namespace"].(string)
	file := name + ".yaml"
	if ns != "" && ns != "default" {
		file = ns + "_" + file
	}
	if want+"/"+file != p {
		t.Errorf("%s %s/%s written to %s; want %s", r.Kind, ns, name, p, want+"/"+file)
	}
	if r.Status != nil || bytes.Contains(out, []byte("\nstatus:")) {
		t.Errorf("%s still has a status", p)
	}
}
