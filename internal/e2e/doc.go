// Package e2e holds fabsync's end-to-end tests: the HTTP server and workers run in-process
// against a private redis-server and git repositories served over smart HTTP by
// `git http-backend`. It has no non-test code.
package e2e
