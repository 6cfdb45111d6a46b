package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one fabsync subcommand.
type command struct {
	name    string
	args    []string // names of the positional arguments, all required
	summary string   // one line for the command list
	help    string   // the rest of `fabsync help NAME`: what it does, its flags, examples
	// flags registers the command's own flags and returns the function that runs it with them.
	flags func(fs *flag.FlagSet) runner
}

// runner runs a parsed command with its positional arguments and returns the exit code.
type runner func(ctx context.Context, c *cli, args []string) int

// commands lists every command, in the order --help shows them.
func commands() []command {
	return []command{
		{
			name: "sync", args: []string{"FABRIC"},
			summary: "start a sync of a fabric and, with --wait, follow it to the end",
			help: `Asks the server to sync FABRIC from git (POST /api/v1/fabrics/FABRIC/sync). If a
sync of FABRIC is already waiting to run, that job is reused and no new one is made.

Without --wait it prints the job's ID and state and exits 0. With --wait it follows the
job until it ends, showing progress on stderr, then prints what happened and exits:
0 succeeded, 2 partial_sync (git sync worked, ingestion failed; nothing was changed in
the repository), 1 failed or canceled. Ctrl-C stops waiting (exit 130) but does not
cancel the job; use 'fabsync cancel JOB' for that.

Flags:
  --wait                 follow the job until it ends
  --json                 print the job as JSON (the final job with --wait)
  --timeout DURATION     give up waiting after this long (default 30m; exit 1)
  --poll-interval DUR    how often --wait asks for the job (default 500ms)

Examples:
  fabsync sync fabric-1
  fabsync sync fabric-1 --wait
  fabsync sync fabric-1 --wait --timeout 5m || echo "sync did not succeed"`,
			flags: syncFlags,
		},
		{
			name: "jobs", args: []string{"FABRIC"},
			summary: "list a fabric's jobs, newest first",
			help: `Shows FABRIC's recent jobs, newest first: ID, trigger, state, start time, duration,
and attempts of the git sync and ingest stages.

Flags:
  --limit N    how many jobs to show (default 20, at most 200)
  --json       print the server's JSON instead of a table

Examples:
  fabsync jobs fabric-1
  fabsync jobs fabric-1 --limit 5 --json`,
			flags: jobsFlags,
		},
		{
			name: "status", args: []string{"JOB"},
			summary: "show one job in plain words, with its log",
			help: `Shows job JOB: its state, progress or outcome, counts, errors and warnings, then
its timestamped log. The problems found in the raw files are grouped by file, errors
before warnings, one a line (line:column, severity, rule, message) with the lines of
the file around it and a caret under the column; a count ends the list. (Jobs
recorded by an older server have no rules: their errors are listed one a line, as
file:line:column.) sync --wait prints them the same way.

Flags:
  --json    print the server's JSON instead

Examples:
  fabsync status 20260301T100000Z-0a1b2c3d4e
  fabsync status 20260301T100000Z-0a1b2c3d4e --json | jq .state`,
			flags: statusFlags,
		},
		{
			name:    "fabrics",
			summary: "list the configured fabrics and their last job",
			help: `Shows every fabric the server knows: name, repository (without credentials), branch,
path in the repository, periodic resync interval, and the state of its latest job.

Flags:
  --json    print the server's JSON instead

Example:
  fabsync fabrics`,
			flags: fabricsFlags,
		},
		{
			name: "cancel", args: []string{"JOB"},
			summary: "cancel a job that has not ended",
			help: `Asks the server to cancel job JOB. A job that has not started ends at once; a running
one stops at its next check. Canceling a job that already ended is an error.

Example:
  fabsync cancel 20260301T100000Z-0a1b2c3d4e`,
			flags: func(*flag.FlagSet) runner { return runCancel },
		},
	}
}

func findCommand(name string) (command, bool) {
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd, true
		}
	}
	return command{}, false
}

// help runs `fabsync help [CMD]`.
func (c *cli) help(args []string) int {
	switch len(args) {
	case 0:
		c.printHelp(c.stdout, "")
		return exitOK
	case 1:
		if _, ok := findCommand(args[0]); !ok {
			return c.usageError("", fmt.Sprintf("unknown command %q", args[0]))
		}
		c.printHelp(c.stdout, args[0])
		return exitOK
	}
	return c.usageError("", "help takes at most one command name")
}

const globalHelp = `Global flags (before or after the command):
  --server URL           the fabsync server (default $FABSYNC_SERVER, else ` + defaultServer + `)
  --timeout DURATION     how long sync --wait waits (default 30m)
  -h, --help             show help

Environment:
  FABSYNC_SERVER         the server's URL, when --server is not given
  FABSYNC_API_TOKEN      the API token, sent as "Authorization: Bearer ..."; needed when the
                         server sets one. It is never printed.
  TZ                     the time zone times are shown in
  NO_COLOR               when set, no colour even on a terminal (colour is only ever used
                         when stdout is a terminal and TERM is not "dumb")

Exit codes:
  0    success (sync --wait: the job succeeded)
  1    an error (sync --wait: the job failed or was canceled, or --timeout passed)
  2    sync --wait: partial_sync; git sync worked, ingestion failed, nothing was changed
  64   usage error: unknown command, missing argument, bad flag
  130  interrupted (Ctrl-C); a job being waited for keeps running`

// printHelp writes the usage of one command, or of fabsync when name is "".
func (c *cli) printHelp(w io.Writer, name string) {
	if name != "" {
		cmd, _ := findCommand(name)
		usage := "fabsync " + cmd.name
		for _, a := range cmd.args {
			usage += " " + a
		}
		fmt.Fprintf(w, "Usage: %s [flags]\n\n%s: %s.\n\n%s\n\n%s\n", usage, cmd.name, cmd.summary, cmd.help, globalHelp)
		return
	}
	var b strings.Builder
	b.WriteString("fabsync is the command-line client of a fabsync server: it syncs GitOps fabrics from\n")
	b.WriteString("git and shows their jobs.\n\nUsage: fabsync [global flags] COMMAND [arguments] [flags]\n\nCommands:\n")
	for _, cmd := range commands() {
		usage := cmd.name
		for _, a := range cmd.args {
			usage += " " + a
		}
		fmt.Fprintf(&b, "  %-16s %s\n", usage, cmd.summary)
	}
	fmt.Fprintf(&b, "  %-16s %s\n", "help [COMMAND]", "show help for a command")
	b.WriteString("\nExamples:\n")
	b.WriteString("  fabsync fabrics\n")
	b.WriteString("  fabsync sync fabric-1 --wait\n")
	b.WriteString("  fabsync jobs fabric-1 --limit 5\n")
	b.WriteString("  FABSYNC_SERVER=https://fabsync.example.net FABSYNC_API_TOKEN=... fabsync status JOB\n\n")
	b.WriteString(globalHelp)
	b.WriteString("\n\nRun 'fabsync help COMMAND' for a command's flags and examples.\n")
	fmt.Fprint(w, b.String())
}
