// Command fabsync is the command-line client of the fabsync HTTP API (docs/API.md), for scripts and
// terminals: trigger a sync and wait for it, list fabrics and jobs, show or cancel a job. Its
// check and ingest commands work on a fabric folder on disk instead, with no server (docs/CHECK.md).
//
// The server commands depend only on the HTTP contract: the CLI has its own client-side copies
// of the JSON shapes. From internal/ it imports only ingest and validate, for check and ingest.
// Results go to stdout; progress, hints and errors go to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Exit codes. They are part of the command's contract: scripts branch on them.
const (
	exitOK          = 0   // the command worked; for sync --wait, the job succeeded
	exitError       = 1   // any error; for sync --wait, the job failed or was canceled
	exitPartial     = 2   // sync --wait: git sync worked, ingestion failed (partial_sync); check, ingest: errors found
	exitUsage       = 64  // bad command line or configuration (EX_USAGE from sysexits.h); 2 is taken by partial_sync
	exitInterrupted = 130 // Ctrl-C (128+SIGINT): we stopped waiting; the job itself was not canceled
)

// defaultServer is used when neither --server nor FABSYNC_SERVER is set; it is where `make run`
// listens.
const defaultServer = "http://127.0.0.1:8080"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs one fabsync command and returns the process exit code. It deviates from the
// run(ctx, args, getenv, stderr) error shape of STYLE §4 on purpose: a CLI writes its results to
// stdout, and its exit code carries meaning (partial_sync is 2, usage errors 64), so run takes
// stdout too and returns the code instead of an error. Every error is reported on stderr here,
// once. ctx ending (Ctrl-C) stops whatever the command is waiting for.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c := &cli{
		stdout:    stdout,
		stderr:    stderr,
		getenv:    getenv,
		now:       time.Now,
		loc:       location(getenv),
		terminal:  isTerminal(stderr) && getenv("TERM") != "dumb",
		termWidth: termWidth(getenv),
		opts:      defaultOptions(getenv),
	}
	return c.main(ctx, args)
}

// cli is one invocation of the command: its streams, environment and global options.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	loc            *time.Location // for printing times
	terminal       bool           // stderr is a terminal: redraw a progress bar in place
	termWidth      int            // columns available for the progress bar line

	opts   options
	client *client
}

// options are the global flags, accepted before or after the command name.
type options struct {
	server       string
	serverByFlag bool // --server was given, so hints must repeat it
	timeout      time.Duration
	interval     time.Duration
}

// defaultOptions are the global options before any flag is parsed.
func defaultOptions(getenv func(string) string) options {
	o := options{server: defaultServer, timeout: 30 * time.Minute, interval: 500 * time.Millisecond}
	if v := getenv("FABSYNC_SERVER"); v != "" {
		o.server = v
	}
	return o
}

// register adds the global flags to fs. The current values are the defaults, so flags given
// before the command survive the command's own parse.
func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.server, "server", o.server, "")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "")
	fs.DurationVar(&o.interval, "poll-interval", o.interval, "")
}

func (c *cli) main(ctx context.Context, args []string) int {
	// Global flags may come before the command; the command's own parse accepts them after it.
	fs := c.flagSet("fabsync")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	if err := fs.Parse(args); err != nil {
		return c.usageError("", err.Error())
	}
	args = fs.Args()
	c.noteServerFlag(fs)
	if *help {
		c.printHelp(c.stdout, "")
		return exitOK
	}
	if len(args) == 0 {
		c.printHelp(c.stderr, "")
		return exitUsage
	}
	name, args := args[0], args[1:]
	if name == "help" {
		return c.help(args)
	}
	cmd, ok := findCommand(name)
	if !ok {
		return c.usageError("", fmt.Sprintf("unknown command %q", name))
	}

	fs = c.flagSet("fabsync " + cmd.name)
	help = fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	run := cmd.flags(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return c.usageError(cmd.name, err.Error())
	}
	if *help {
		c.printHelp(c.stdout, cmd.name)
		return exitOK
	}
	if len(pos) < len(cmd.args) {
		return c.usageError(cmd.name, "missing "+cmd.args[len(pos)])
	}
	names := append(slices.Clip(cmd.args), cmd.optArgs...)
	if len(pos) > len(names) && !cmd.repeat {
		return c.usageError(cmd.name, fmt.Sprintf("unexpected argument %q", pos[len(names)]))
	}
	for i, p := range pos {
		if p == "" {
			return c.usageError(cmd.name, names[min(i, len(names)-1)]+" must not be empty")
		}
	}
	if cmd.local {
		return run(ctx, c, pos) // works on the local disk: no server to set up
	}
	if msg := c.setup(fs); msg != "" {
		return c.usageError(cmd.name, msg)
	}
	return run(ctx, c, pos)
}

// flagSet returns a flag set with the global flags that reports errors to the caller instead of
// printing them.
func (c *cli) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	c.opts.register(fs)
	return fs
}

// parseInterleaved parses flags that may appear before, between or after the positional
// arguments (`fabsync sync fab-1 --wait`), which package flag alone does not: it stops at the
// first positional argument. After "--" everything is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// noteServerFlag records whether fs was given --server, for hint.
func (c *cli) noteServerFlag(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "server" {
			c.opts.serverByFlag = true
		}
	})
}

// setup checks the global options once flags are parsed and builds the API client.
func (c *cli) setup(fs *flag.FlagSet) string {
	c.noteServerFlag(fs)
	u, err := url.Parse(strings.TrimRight(c.opts.server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("--server %q: want an http:// or https:// URL such as %s", redactURL(c.opts.server), defaultServer)
	}
	if c.opts.timeout <= 0 {
		return "--timeout must be more than 0"
	}
	if c.opts.interval <= 0 {
		return "--poll-interval must be more than 0"
	}
	c.client = newClient(u, c.getenv("FABSYNC_API_TOKEN"))
	return ""
}

// usageError reports a bad command line and returns exitUsage.
func (c *cli) usageError(cmd, msg string) int {
	prefix, helpCmd := "fabsync", "fabsync --help"
	if cmd != "" {
		prefix, helpCmd = "fabsync "+cmd, "fabsync help "+cmd
	}
	fmt.Fprintf(c.stderr, "%s: %s\nRun '%s' for usage.\n", prefix, msg, helpCmd)
	return exitUsage
}

// fail reports err on stderr, with a hint where the user can act on it, and returns exitError.
func (c *cli) fail(err error) int {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(c.stderr, "fabsync: interrupted")
		return exitInterrupted
	}
	fmt.Fprintf(c.stderr, "fabsync: %v\n", err)
	var ae *apiError
	var ue *unreachableError
	switch {
	case errors.As(err, &ae) && ae.Status == 401:
		if c.getenv("FABSYNC_API_TOKEN") == "" {
			fmt.Fprintln(c.stderr, "The server requires an API token: set FABSYNC_API_TOKEN to the server's token.")
		} else {
			fmt.Fprintln(c.stderr, "The server rejected the token in FABSYNC_API_TOKEN: check that it matches the server's.")
		}
	case errors.As(err, &ae) && ae.Code == "fabric_not_found":
		fmt.Fprintf(c.stderr, "List the configured fabrics with: %s\n", c.hint("fabrics"))
	case errors.As(err, &ue) && ue.Refused:
		fmt.Fprintln(c.stderr, "Start a server with 'make run', or point --server or FABSYNC_SERVER at one.")
	}
	return exitError
}

// hint returns a fabsync command line to suggest, repeating --server when it was given as a flag
// (FABSYNC_SERVER stays set in the user's shell by itself).
func (c *cli) hint(args ...string) string {
	s := "fabsync " + strings.Join(args, " ")
	if c.opts.serverByFlag {
		s += " --server " + redactURL(c.opts.server)
	}
	return s
}

// isTerminal reports whether w is a character device, which is how we tell a terminal from a
// pipe or file without a terminal library.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// termWidth is COLUMNS when the shell exports it, else a conservative 80.
func termWidth(getenv func(string) string) int {
	var n int
	if _, err := fmt.Sscan(getenv("COLUMNS"), &n); err == nil && n >= 20 {
		return n
	}
	return 80
}

// location is where times are shown: TZ when set and known, else the system's local time.
// Reading TZ through getenv lets tests pin it.
func location(getenv func(string) string) *time.Location {
	if tz := getenv("TZ"); tz != "" {
		if l, err := time.LoadLocation(strings.TrimPrefix(tz, ":")); err == nil {
			return l
		}
	}
	return time.Local
}
