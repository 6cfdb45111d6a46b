// Package web holds fabsync's browser UI: static files embedded into the binary, so no build
// step is needed to run it. The UI talks only to the JSON API of SPEC §4.
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// FS returns the UI's files, rooted at the directory that holds index.html.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // cannot happen: dist is embedded above
	}
	return sub
}
