package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestServeUsageErrors: a wrong command line of vkv serve (and of a client
// command) exits with 2, says what is wrong after the command's name, and
// points to the help; nothing is opened.
func TestServeUsageErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	rows := []struct {
		args   []string
		reason string
		stderr string
	}{
		{[]string{"serve", "-dir", dir, "-log-level", "verbose"}, "a level slog does not know is a usage error listing the levels",
			"vkv serve: -log-level \"verbose\" is not a level: use debug, info, warn or error\nUsage: vkv serve [flags]\nRun \"vkv help serve\" for the flags and an example.\n"},
		{[]string{"serve", "-dir", dir, "-profile", "fast"}, "a profile vkv does not know is a usage error listing the profiles",
			"vkv serve: -profile \"fast\" is not a profile: use lean or throughput\nUsage: vkv serve [flags]\nRun \"vkv help serve\" for the flags and an example.\n"},
		{[]string{"serve", "-dir", dir, "-nope"}, "an unknown flag is named after the command, with the short usage",
			"vkv serve: flag provided but not defined: -nope\nUsage: vkv serve [flags]\nRun \"vkv help serve\" for the flags and an example.\n"},
		{[]string{"serve", "-dir", dir, "extra"}, "serve takes no arguments",
			"vkv serve: unexpected arguments [\"extra\"]: vkv serve takes only flags\nUsage: vkv serve [flags]\nRun \"vkv help serve\" for the flags and an example.\n"},
		{[]string{"get", "-nope", "k"}, "client commands too",
			"vkv get: flag provided but not defined: -nope\nUsage: vkv get [flags] KEY\nRun \"vkv help get\" for the flags and an example.\n"},
	}
	for _, r := range rows {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), r.args, &out, &errOut); code != 2 {
			t.Errorf("vkv %q (%s): exit %d, want 2", r.args, r.reason, code)
		}
		if diff := cmp.Diff(r.stderr, errOut.String()); diff != "" {
			t.Errorf("vkv %q (%s): stderr differs (-want +got):\n%s", r.args, r.reason, diff)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused command line created %s (%v)", dir, err)
	}
}

// TestServePortInUse: vkv serve on a port in use fails before it creates or
// opens the data directory, and the message names -addr.
func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	dir := filepath.Join(t.TempDir(), "data")
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"serve", "-addr", addr, "-dir", dir}, &out, &errOut); code != 1 {
		t.Errorf("vkv serve on a port in use: exit %d, want 1", code)
	}
	want := "vkv serve: -addr " + addr + ": listen tcp " + addr + ": bind: address already in use (another process listens there: stop it, or choose another address with -addr)\n"
	if diff := cmp.Diff(want, errOut.String()); diff != "" {
		t.Errorf("vkv serve on a port in use: stderr differs (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("vkv serve on a port in use created %s (%v)", dir, err)
	}
}
