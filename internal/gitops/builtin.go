package gitops

import (
	"os/exec"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
)

// UseBuiltinFileTransport makes file:// and local-path remotes work without the git binary, by
// serving them with go-git's in-process server instead of running git-upload-pack and
// git-receive-pack. It changes go-git's process-wide protocol table, so only a main package may
// call it, before any Client is used; dev mode does, so that it runs with nothing but Go
// installed. It reports whether it switched (false when the git binary is available).
func UseBuiltinFileTransport() bool {
	if _, err := exec.LookPath("git-upload-pack"); err == nil {
		return false
	}
	client.InstallProtocol("file", server.DefaultServer)
	return true
}
