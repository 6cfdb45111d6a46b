package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkParsePush measures each forge's push parser on a payload of 20 commits (the figures
// in docs/API.md, "Why fabsync parses the payloads itself", compare them with
// go-playground/webhooks).
func BenchmarkParsePush(b *testing.B) {
	after := strings.Repeat("d", 40)
	files := []string{"fab/raw/vpcs.yaml", "fab/raw/servers.yaml", "README.md"}
	many := func(body string) string { // the payload with its one commit 20 times
		var p map[string]any
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			b.Fatal(err)
		}
		commits := p["commits"].([]any)
		for len(commits) < 20 {
			commits = append(commits, commits[0])
		}
		p["commits"] = commits
		out, err := json.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
		return string(out)
	}
	tests := []struct {
		name  string
		parse func([]byte) (pushEvent, error)
		body  string
	}{
		{"github", parseHubPush, many(githubPushBody("main", files, after))},
		{"gitlab", parseGitLabPush, many(gitlabPushBody("main", files, after))},
		{"gitea", parseHubPush, many(giteaPushBody("main", files, after))},
		{"bitbucket", parseBitbucketPush, bitbucketPushBody("main", nil, after)},
		{"generic", parseGenericPush, genericPushBody("main", files, after)},
	}
	for _, tt := range tests {
		body := []byte(tt.body)
		if ev, err := tt.parse(body); err != nil || len(ev.branches) != 1 {
			b.Fatalf("%s: parse = %+v, %v", tt.name, ev, err)
		}
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := tt.parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
