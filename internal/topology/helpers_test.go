package topology_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/topology"
)

// parse decodes the YAML stream src into resources, one per document,
// the way a caller of Build has them.
func parse(tb testing.TB, src []byte) []topology.Resource {
	tb.Helper()
	rs, err := decode(src, -1)
	if err != nil {
		tb.Fatalf("decode: %v", err)
	}
	return rs
}

// decode decodes at most limit documents of src (all when limit < 0).
func decode(src []byte, limit int) ([]topology.Resource, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var rs []topology.Resource
	for limit < 0 || len(rs) < limit {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rs, err
		}
		root := &doc
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			root = doc.Content[0]
		}
		rs = append(rs, topology.Resource{Root: root})
	}
	return rs, nil
}

// checkXML fails tb unless svg is well-formed XML; it returns the id of
// every element that has one.
func checkXML(tb testing.TB, svg []byte) map[string]bool {
	tb.Helper()
	ids := map[string]bool{}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return ids
		}
		if err != nil {
			tb.Fatalf("SVG is not well-formed: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == "id" {
					if ids[a.Value] {
						tb.Fatalf("SVG has id %q twice", a.Value)
					}
					ids[a.Value] = true
				}
			}
		}
	}
}

// svgSize is the width and height of the SVG document svg.
func svgSize(tb testing.TB, svg []byte) (width, height int) {
	tb.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := dec.Token()
		if err != nil {
			tb.Fatalf("SVG has no svg element: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "svg" {
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "width":
					width, err = strconv.Atoi(a.Value)
				case "height":
					height, err = strconv.Atoi(a.Value)
				}
				if err != nil {
					tb.Fatalf("svg %s=%q: %v", a.Name.Local, a.Value, err)
				}
			}
			return width, height
		}
	}
}
