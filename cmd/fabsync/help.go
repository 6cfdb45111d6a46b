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
	optArgs []string // names of the optional positional arguments that may follow them
	repeat  bool     // the last optional argument may be given any number of times
	local   bool     // works on the local disk: needs no server (check, ingest)
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

With --dry-run it asks for a dry run instead: the job does everything a sync does but
push, and ends with a plan of what the sync would change. With --wait it then prints the
plan's summary, its counts, and the diff of each file of managed/ that would be created,
updated or deleted (coloured only when stdout is a terminal); diffs over the server's
bound of 256 KiB are left out, and it says how many. Problems in the raw files are shown
as for a sync. 'fabsync status JOB' shows a dry run's plan the same way.

Flags:
  --wait                 follow the job until it ends
  --json                 print the job as JSON (the final job with --wait)
  --dry-run              preview: show what a sync would change; nothing is pushed
  --detailed-exitcode    with --dry-run --wait only (a usage error otherwise), exit as
                         'terraform plan -detailed-exitcode' does: 0 nothing would
                         change, 3 changes would be made, 2 problems found (partial_sync);
                         1 the dry run failed or was canceled
  --timeout DURATION     give up waiting after this long (default 30m; exit 1)
  --poll-interval DUR    how often --wait asks for the job (default 500ms)

Examples:
  fabsync sync fabric-1
  fabsync sync fabric-1 --wait
  fabsync sync fabric-1 --wait --timeout 5m || echo "sync did not succeed"
  fabsync sync fabric-1 --dry-run --wait | less -R
  fabsync sync fabric-1 --dry-run --wait --detailed-exitcode; echo "exit $?"`,
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
		{
			name: "check", optArgs: []string{"DIR"}, local: true,
			summary: "check a fabric folder on disk as a sync would, without a server",
			help: `Runs ingestion and validation on the fabric folder DIR (default: the current folder)
as a sync would, but on your disk: no server, no git, no Redis. It reads DIR/raw/ (the
files a sync would ingest) and DIR/managed/ and DIR/unmanaged/ (what they land on), writes
nothing, and prints every problem: errors, which would stop a sync (partial_sync), and
warnings, which would not. With no YAML file in raw/ there is nothing to check (exit 0).

Flags:
  --format FORMAT        how to print the problems:
                           text    grouped by file, errors first, with the lines around
                                   each problem (the default)
                           json    {"problems": [...], "errors": N, "warnings": N}; each
                                   problem has file, document, line, column, message, rule,
                                   severity and excerpt, as in the API's ingest.problems
                           github  GitHub Actions annotations, one a line, such as
                                   ::error file=F,line=L,col=C,title=RULE::MESSAGE, with F
                                   relative to the root of the git repository holding DIR
                                   (or to the current folder outside one), so that they
                                   show on the lines of a pull request
  --crds PATH            CRD files, or folders of *.yaml and *.yml CRD files, to check
                         documents against; repeat the flag or separate paths with commas.
                         Paths are relative to the current folder (not to the repository)
  --strict               unknown fields and versions a CRD does not serve are errors, not
                         warnings
  --disable RULE         skip a built-in rule; repeat the flag or separate IDs with commas
  --warnings-as-errors   exit 2 on warnings too

--crds, --strict and --disable mean what the keys of a fabric's validation: block in the
fabrics file mean. In text and json, file names are relative to DIR ("raw/wiring.yaml").

Exit codes of check: 0 no errors (warnings alone exit 0); 2 errors found (or warnings,
with --warnings-as-errors); 64 usage or configuration error: a bad flag, DIR missing or
not a fabric folder (neither raw/ nor managed/ in it), a CRD file that cannot be read or
is not a CRD, an unknown rule; 1 any other error.

Examples:
  fabsync check
  fabsync check gitops/hedgehog/fabric-1 --crds crds/
  fabsync check fabric-1 --crds crds/vpcs.yaml,crds/wiring/ --strict --format github
  fabsync check fabric-1 --format json | jq '.problems[] | select(.severity == "error")'`,
			flags: checkFlags,
		},
		{
			name: "ingest", optArgs: []string{"DIR"}, repeat: true, local: true,
			summary: "ingest a fabric folder on disk by hand, as the worker would (no commit)",
			help: `Does to the fabric folder DIR (default: the current folder; several DIRs are each their
own fabric, as the worker does them, reported in the order given, small ones ingested
several at once, one per core) what a sync's ingest stage does, in your working tree,
without a server: it checks everything first, as 'fabsync check' does, and only when
there is no error it writes the normalized resource files under managed/ (the twelve
fabric kinds) and unmanaged/ (other kinds), archives the raw files under
.hnp/archive/JOB/ and removes them from raw/, and updates .hnp/manifest.yaml and
.hnp/archive-log.yaml. JOB is a new ID such as 20260301T100000Z-0a1b2c3d4e. Nothing
is committed: review the changes with git and commit them yourself. With no YAML file
in raw/ there is nothing to do, so a second run changes nothing.

It prints one line of counts (files, documents; resource files created, updated and
unchanged) and any warnings. When there are errors it prints them as check does, writes
nothing and exits 2. Nothing is ever written outside DIR, and no symbolic link is followed.

Flags:
  --crds PATH            as for check: CRD files or folders, relative to the current folder
  --strict               as for check
  --disable RULE         as for check
  --memory-limit MIB     a soft memory limit for the process [48]: the garbage collector
                         works harder near it, an ingest never fails for it; 0 for none;
                         the GOMEMLIMIT environment variable, when set, wins. Under a
                         limit, while several DIRs are ingested at once, the collector
                         lets the heap grow to 5 times the live data (GOGC=400), unless
                         GOGC is set

Exit codes of ingest: 0 ingested (or nothing to ingest); 2 errors found, nothing written;
64 usage or configuration error, as for check; 1 any other error (if it happened while
writing, DIR may be partly ingested: restore it with git before running ingest again).
With several DIRs, every DIR is checked to be a fabric folder before any is ingested (64
if one is not), each fabric's errors leave only that fabric unwritten, and the exit code
is 1 if any DIR failed so, else 2 if any had errors, else 0. After Ctrl-C no further DIR
is started, each DIR that was is reported (ingested, or interrupted), and it exits 130.

Examples:
  fabsync ingest gitops/hedgehog/fabric-1 --crds crds/
  fabsync ingest gitops/hedgehog/*/
  fabsync ingest && git add -A . && git commit -m "ingest raw files"`,
			flags: ingestFlags,
		},
	}
}

// argsUsage is the positional arguments for a usage line: " JOB", " [DIR]".
func (cmd command) argsUsage() string {
	var s string
	for _, a := range cmd.args {
		s += " " + a
	}
	for i, a := range cmd.optArgs {
		if cmd.repeat && i == len(cmd.optArgs)-1 {
			a += "..."
		}
		s += " [" + a + "]"
	}
	return s
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
  --server URL           the fabsync server (default $FABSYNC_SERVER, else ` + defaultServer + `);
                         check and ingest need none and ignore it
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
  0    success (sync --wait: the job succeeded; check: no errors, warnings alone are fine)
  1    an error (sync --wait: the job failed or was canceled, or --timeout passed)
  2    sync --wait: partial_sync; git sync worked, ingestion failed, nothing was changed;
       check and ingest: errors found in the fabric folder, nothing was written
  3    sync --dry-run --wait --detailed-exitcode: the dry run found changes to make
  64   usage error: unknown command, missing argument, bad flag; for check and ingest
       also a DIR that is not a fabric folder or a CRD file that cannot be used
  130  interrupted (Ctrl-C); a job being waited for keeps running`

// printHelp writes the usage of one command, or of fabsync when name is "".
func (c *cli) printHelp(w io.Writer, name string) {
	if name != "" {
		cmd, _ := findCommand(name)
		usage := "fabsync " + cmd.name + cmd.argsUsage()
		fmt.Fprintf(w, "Usage: %s [flags]\n\n%s: %s.\n\n%s\n\n%s\n", usage, cmd.name, cmd.summary, cmd.help, globalHelp)
		return
	}
	var b strings.Builder
	b.WriteString("fabsync is the command-line client of a fabsync server: it syncs GitOps fabrics from\n")
	b.WriteString("git and shows their jobs. check and ingest work on a fabric folder on disk instead,\n")
	b.WriteString("with no server.\n\nUsage: fabsync [global flags] COMMAND [arguments] [flags]\n\nCommands:\n")
	for _, cmd := range commands() {
		usage := cmd.name + cmd.argsUsage()
		fmt.Fprintf(&b, "  %-16s %s\n", usage, cmd.summary)
	}
	fmt.Fprintf(&b, "  %-16s %s\n", "help [COMMAND]", "show help for a command")
	b.WriteString("\nExamples:\n")
	b.WriteString("  fabsync fabrics\n")
	b.WriteString("  fabsync sync fabric-1 --wait\n")
	b.WriteString("  fabsync jobs fabric-1 --limit 5\n")
	b.WriteString("  fabsync check gitops/hedgehog/fabric-1 --crds crds/\n")
	b.WriteString("  FABSYNC_SERVER=https://fabsync.example.net FABSYNC_API_TOKEN=... fabsync status JOB\n\n")
	b.WriteString(globalHelp)
	b.WriteString("\n\nRun 'fabsync help COMMAND' for a command's flags and examples.\n")
	fmt.Fprint(w, b.String())
}
