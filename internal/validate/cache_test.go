package validate

import (
	"errors"
	"testing"
)

// TestCache checks that a Cache compiles a Config once per content: the same CRD bytes give
// the same Validator, other bytes (or other settings) a new one, and a bad CRD file's
// *ConfigError is kept too.
func TestCache(t *testing.T) {
	crd := func(kind string) CRDFile {
		return CRDFile{Name: "crds/w.yaml", Data: []byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.lab.example.com}
spec:
  group: lab.example.com
  names: {kind: ` + kind + `, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object}
`)}
	}
	var c Cache
	a, err := c.Get(Config{CRDs: []CRDFile{crd("Widget")}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c.Get(Config{CRDs: []CRDFile{crd("Widget")}}); b != a {
		t.Error("the same content compiled twice")
	}
	if b, _ := c.Get(Config{CRDs: []CRDFile{crd("Gadget")}}); b == a {
		t.Error("changed CRD content gave the old Validator")
	}
	if b, _ := c.Get(Config{CRDs: []CRDFile{crd("Widget")}, Strict: true}); b == a || !b.strict {
		t.Error("strict gave the lenient Validator")
	}
	if b, _ := c.Get(Config{CRDs: []CRDFile{crd("Widget")}, Disable: []string{"vpc-name-length"}}); b == a || !b.disabled["vpc-name-length"] {
		t.Error("a disabled rule gave the Validator without it")
	}
	bad := Config{CRDs: []CRDFile{{Name: "crds/bad.yaml", Data: []byte("kind: [")}}}
	_, err1 := c.Get(bad)
	_, err2 := c.Get(bad)
	var ce *ConfigError
	if !errors.As(err1, &ce) || ce.File != "crds/bad.yaml" || !errors.Is(err2, err1) {
		t.Errorf("bad CRD: %v then %v; want the same *ConfigError naming crds/bad.yaml", err1, err2)
	}
	// The key tells the parts apart: a file's name and data, and where one file ends.
	if configKey(Config{CRDs: []CRDFile{{Name: "a", Data: []byte("bc")}}}) == configKey(Config{CRDs: []CRDFile{{Name: "ab", Data: []byte("c")}}}) {
		t.Error("configKey mixes up names and data")
	}
}
