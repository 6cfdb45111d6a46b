package config_test

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/config"
)

var allSettings = []string{"redis-url", "config", "data-dir", "listen", "api-token", "webhook-secret", "git-author", "concurrency", "shutdown-timeout", "monitoring"}

// parse binds every setting on a fresh FlagSet and parses args with env.
func parse(args []string, env map[string]string) (config.Settings, error) {
	var s config.Settings
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s.Bind(fs, allSettings...)
	err := s.Parse(fs, args, func(k string) string { return env[k] })
	return s, err
}

func TestSettingsSources(t *testing.T) {
	defaults := config.Settings{
		RedisURL: config.DefaultRedisURL, ConfigPath: config.DefaultConfig, DataDir: config.DefaultDataDir,
		Listen: config.DefaultListen, GitAuthor: config.DefaultGitAuthor,
		Concurrency: config.DefaultConcurrency, ShutdownTimeout: config.DefaultShutdownTimeout,
		Monitoring: config.DefaultMonitoring,
	}
	with := func(f func(*config.Settings)) config.Settings { s := defaults; f(&s); return s }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want config.Settings
	}{
		{"defaults", nil, nil, defaults},
		{"every variable", nil, map[string]string{
			"REDIS_URL": "redis://r:1/2", "FABSYNC_CONFIG": "c.yaml", "FABSYNC_DATA_DIR": "d",
			"FABSYNC_LISTEN": ":9", "FABSYNC_API_TOKEN": "tok", "FABSYNC_WEBHOOK_SECRET": "sec",
			"FABSYNC_GIT_AUTHOR": "A <a@b>", "FABSYNC_CONCURRENCY": "7", "FABSYNC_SHUTDOWN_TIMEOUT": "2m",
			"FABSYNC_MONITORING": "off",
		}, config.Settings{
			RedisURL: "redis://r:1/2", ConfigPath: "c.yaml", DataDir: "d", Listen: ":9", APIToken: "tok",
			WebhookSecret: "sec", GitAuthor: "A <a@b>", Concurrency: 7, ShutdownTimeout: 2 * time.Minute,
			Monitoring: "off",
		}},
		{"a flag wins over its variable",
			[]string{"-concurrency", "9", "-shutdown-timeout", "5s", "-listen", ":1"},
			map[string]string{"FABSYNC_CONCURRENCY": "x", "FABSYNC_SHUTDOWN_TIMEOUT": "0", "FABSYNC_LISTEN": ":2"},
			with(func(s *config.Settings) { s.Concurrency, s.ShutdownTimeout, s.Listen = 9, 5*time.Second, ":1" })},
		{"bounds", []string{"-concurrency", "1000"}, map[string]string{"FABSYNC_CONCURRENCY": "1"},
			with(func(s *config.Settings) { s.Concurrency = 1000 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.args, tt.env)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.args, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) settings (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestSettingsBadValues(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"variable not a number", nil, map[string]string{"FABSYNC_CONCURRENCY": "x"},
			`FABSYNC_CONCURRENCY: want a whole number from 1 to 1000, got "x"`},
		{"variable out of range", nil, map[string]string{"FABSYNC_CONCURRENCY": "0"},
			`FABSYNC_CONCURRENCY: want a whole number from 1 to 1000, got "0"`},
		{"variable not a duration", nil, map[string]string{"FABSYNC_SHUTDOWN_TIMEOUT": "30"},
			`FABSYNC_SHUTDOWN_TIMEOUT: want a duration greater than 0, such as 30s or 2m, got "30"`},
		{"flag out of range", []string{"-concurrency", "1001"}, nil,
			`invalid value "1001" for flag -concurrency: want a whole number from 1 to 1000`},
		{"flag not positive", []string{"-shutdown-timeout", "-1s"}, nil,
			`invalid value "-1s" for flag -shutdown-timeout: want a duration greater than 0, such as 30s or 2m`},
		{"an argument", []string{"serve"}, nil, `unexpected argument "serve"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.args, tt.env)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Parse(%q, %v) = %v; want an error starting %q", tt.args, tt.env, err, tt.want)
			}
		})
	}
}

// TestSettingsBindOnly: a process gets only the flags it binds, and a variable of a setting it
// did not bind is ignored.
func TestSettingsBindOnly(t *testing.T) {
	var s config.Settings
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s.Bind(fs, "redis-url", "concurrency")
	s.BindDefault(fs, "data-dir", "./.data/dev", "")
	var got []string
	fs.VisitAll(func(f *flag.Flag) { got = append(got, f.Name+"="+f.DefValue) })
	want := []string{"concurrency=4", "data-dir=./.data/dev", "redis-url=" + config.DefaultRedisURL}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bound flags (-want +got):\n%s", diff)
	}
	if err := s.Parse(fs, []string{"-listen", ":1"}, func(string) string { return "" }); err == nil {
		t.Error("Parse(-listen) of a process without -listen = nil; want an error")
	}
	env := map[string]string{"FABSYNC_LISTEN": ":1", "FABSYNC_DATA_DIR": "d"}
	if err := s.Parse(fs, nil, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if s.Listen != "" || s.DataDir != "d" {
		t.Errorf("Parse: Listen %q, DataDir %q; want \"\" (not bound) and \"d\"", s.Listen, s.DataDir)
	}
	if err := s.Parse(fs, []string{"--help"}, func(string) string { return "" }); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Parse(--help) = %v; want flag.ErrHelp", err)
	}
}

func TestRedactedRedisURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"redis://:hunter2@r:6379/0", "redis://:xxxxx@r:6379/0"},
		{"rediss://u:hunter2@r:6380", "rediss://u:xxxxx@r:6380"},
		{"redis-sentinel://:hunter2@a:1,b:2?master=m", "redis-sentinel://:xxxxx@a:1,b:2?master=m"},
		{"redis://:hunter2%zz@r:1/0", "redis://xxxxx@r:1/0"}, // url.Parse fails: cut by hand
	}
	for _, tt := range tests {
		s := config.Settings{RedisURL: tt.in}
		if got := s.RedactedRedisURL(); got != tt.want || strings.Contains(got, "hunter2") {
			t.Errorf("RedactedRedisURL(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// jsonLines parses slog JSON output, one object per line, dropping "time".
