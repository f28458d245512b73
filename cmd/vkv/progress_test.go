package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupRestoreProgress: on a terminal (the cliEnv seam says stderr is
// one) vkv backup and vkv restore draw a progress bar on stderr with the
// bytes moved, the rate and the elapsed time, and leave stdout as it was;
// when stderr is not a terminal they print nothing there.
func TestBackupRestoreProgress(t *testing.T) {
	s := newCLIServer(t, nil, nil)
	s.ok(t, "", "put", "k", strings.Repeat("v", 10000))
	file := filepath.Join(t.TempDir(), "vkv.backup")
	for _, tc := range []struct {
		name     string
		terminal bool
		args     func(dir string) []string
		want     []string // in stderr, on a terminal
		reason   string
	}{
		{"backup", true, func(string) []string { return []string{"backup", "-out", file} },
			[]string{"backup", "B/s", "kB", "]"}, "the size of a backup is not known ahead: bytes and rate"},
		{"restore", true, func(dir string) []string { return []string{"restore", "-dir", dir, file} },
			[]string{"restore", "100%", "kB", "B/s"}, "a backup file has a size: a bar to 100%"},
		{"backup quiet", false, func(string) []string { return []string{"backup", "-out", file} }, nil,
			"stderr is not a terminal: no progress"},
		{"restore quiet", false, func(dir string) []string { return []string{"restore", "-dir", dir, file} }, nil,
			"stderr is not a terminal: no progress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			vars := map[string]string{envEndpoint: s.url, envToken: s.token}
			ctx := withEnv(t.Context(), &cliEnv{stdin: strings.NewReader(""), getenv: func(k string) string { return vars[k] },
				terminal: func(w io.Writer) bool { return tc.terminal && w == &errOut }})
			if code := run(ctx, tc.args(filepath.Join(t.TempDir(), "restored")), &out, &errOut); code != 0 {
				t.Fatalf("vkv %s: exit %d, stderr:\n%s", tc.name, code, errOut.String())
			}
			if !strings.HasPrefix(out.String(), "wrote ") && !strings.HasPrefix(out.String(), "restored ") {
				t.Errorf("vkv %s: stdout %q, want its usual report", tc.name, out.String())
			}
			got := errOut.String()
			if !tc.terminal {
				if got != "" {
					t.Errorf("vkv %s (%s): stderr %q, want nothing", tc.name, tc.reason, got)
				}
				return
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("vkv %s (%s): stderr %q lacks %q", tc.name, tc.reason, got, w)
				}
			}
			if !strings.HasSuffix(got, "\n") {
				t.Errorf("vkv %s: stderr %q does not end its line", tc.name, got)
			}
		})
	}
}
