package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvclient"
	"github.com/vkvstore/vkv/wire"
)

// binCLI runs the built vkv binary as a client of a server.
type binCLI struct {
	t        *testing.T
	bin      string
	endpoint string
	token    string
}

// run runs bin with args and stdin, the endpoint and token in the
// environment, and returns stdout, stderr and the exit code.
func (b *binCLI) run(stdin string, args ...string) result {
	b.t.Helper()
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(os.Environ(), envEndpoint+"="+b.endpoint, envToken+"="+b.token)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		b.t.Fatalf("vkv %q: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// ok runs bin and fails the test unless it exits 0; it returns stdout.
func (b *binCLI) ok(stdin string, args ...string) string {
	b.t.Helper()
	r := b.run(stdin, args...)
	if r.code != 0 {
		b.t.Fatalf("vkv %q: exit %d, stderr:\n%s", args, r.code, r.stderr)
	}
	return r.stdout
}

// TestCLIBinary runs the built vkv as server and client: every client
// command and exit code through real processes (stdin, stdout, stderr,
// SIGINT), then the backup and restore walkthrough: data with updates,
// deletes, TTLs (one expired) and a transaction is backed up online with
// vkv backup, restored with vkv restore into a new directory, served by a
// second vkv serve, and List and History of every key are compared with
// the original's at the time of the backup.
func TestCLIBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx := t.Context()
	tmp := t.TempDir()
	bin := vkvBinary(t)
	tokenFile := filepath.Join(tmp, "token")
	if err := os.WriteFile(tokenFile, []byte("bin-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := start(t, bin, "-dir", filepath.Join(tmp, "data"), "-token-file", tokenFile, "-nosync")
	v := &binCLI{t: t, bin: bin, endpoint: srv.base, token: "bin-token"}

	// Every command once through the binary.
	v.ok("", "put", "config/db", "host=db1")                  // 1
	v.ok("host=db2", "cas", "config/db", "1")                 // 2, from stdin
	v.ok("", "put", "-ttl", "1h", "locks/report", "worker-7") // 3
	v.ok("", "put", "orders/17", "pending")                   // 4
	v.ok("", "put", "orders/17", "paid")                      // 5
	v.ok("", "put", "tmp", "x")                               // 6
	if got := v.ok("", "del", "-version", "6", "tmp"); got != "7\n" {
		t.Errorf("del printed %q", got)
	}
	txn := `{"conditions":[{"key":"orders/17","version":5},{"key":"orders/18","version":0}],` +
		`"ops":[{"op":"put","key":"orders/18","value":"bmV3"},{"op":"delete","key":"orders/17"}]}`
	if got := v.ok(txn, "txn"); got != "8\n" {
		t.Errorf("txn printed %q", got)
	}
	v.ok("", "put", "-ttl", "100ms", "sessions/abc", "token") // 9; its expiry is 10
	if got := v.ok("", "get", "config/db"); got != "host=db2" {
		t.Errorf("get printed %q", got)
	}
	var e entryJSON
	if err := json.Unmarshal([]byte(v.ok("", "get", "-o", "json", "-version", "1", "config/db")), &e); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entryJSON{Key: "config/db", Version: 1, CreateVersion: 1, Value: []byte("host=db1")}, e); diff != "" {
		t.Errorf("get -version 1 -o json (-want +got):\n%s", diff)
	}
	r := v.run("", "cas", "config/db", "1", "host=db3")
	var p wire.Problem
	if err := json.Unmarshal([]byte(r.stderr), &p); err != nil || r.code != 3 || p.Status != 409 || *p.CurrentVersion != 2 {
		t.Errorf("cas conflict: exit %d, stderr %q (%v)", r.code, r.stderr, err)
	}
	if r := v.run(txn, "txn"); r.code != 3 || !strings.Contains(r.stderr, `"conflicts":[`) {
		t.Errorf("txn conflict: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := v.run("", "get", "orders/17"); r.code != 1 || !strings.Contains(r.stderr, "not-found") {
		t.Errorf("get of a deleted key: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := v.run("", "get"); r.code != 2 || !strings.Contains(r.stderr, "Usage: vkv get") {
		t.Errorf("get without a key: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := v.run("", "ls", "-token", "wrong"); r.code != 1 || !strings.Contains(r.stderr, "unauthorized") {
		t.Errorf("ls with a wrong token: exit %d, stderr %q", r.code, r.stderr)
	}
	if got := v.ok("", "help", "put"); !strings.Contains(got, "Example:") {
		t.Errorf("help put:\n%s", got)
	}
	// The key with a 100ms TTL expires; the store records it as a delete.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasPrefix(v.ok("", "history", "sessions/abc"), "10\tdelete\n9\tput\ttoken\n") {
		if time.Now().After(deadline) {
			t.Fatalf("the expiry of sessions/abc was not recorded:\n%s", v.ok("", "history", "sessions/abc"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := v.ok("", "ls"); got != "config/db\nlocks/report\norders/18\n" {
		t.Errorf("ls printed %q", got)
	}
	if got := v.ok("", "history", "orders/17"); got != "8\tdelete\n5\tput\tpaid\n4\tput\tpending\n" {
		t.Errorf("history orders/17 printed %q", got)
	}

	// watch follows until SIGINT, then exits 0.
	watch := exec.Command(bin, "watch", "-o", "json", "orders/")
	watch.Env = append(os.Environ(), envEndpoint+"="+srv.base, envToken+"=bin-token")
	stdout, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var watchErr syncBuffer
	watch.Stderr = &watchErr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var got entryJSON
	for got.Key == "" {
		v.ok("", "put", "orders/19", "new") // until the watch, started at the newest version, sees one
		select {
		case line := <-lines:
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("watch printed %q: %v", line, err)
			}
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	if got.Key != "orders/19" || string(got.Value) != "new" {
		t.Errorf("watch printed %+v", got)
	}
	watch.Process.Signal(syscall.SIGINT)
	for range lines {
	}
	if err := watch.Wait(); err != nil {
		t.Errorf("watch after SIGINT: %v, stderr %s", err, watchErr.String())
	}
	last, err := vkv.ParseVersion(strings.TrimSpace(v.ok("", "del", "orders/19")))
	if err != nil {
		t.Fatal(err)
	}

	// Backup, online: the state at the time of the backup, then a write
	// that is not in it.
	c, err := vkvclient.New(srv.base, vkvclient.WithToken("bin-token"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	keys := []string{"config/db", "locks/report", "sessions/abc", "orders/17", "orders/18", "orders/19", "tmp"}
	want := snapshotOf(t, ctx, c, keys)
	wantLs := v.ok("", "ls", "-o", "json")
	backupFile := filepath.Join(tmp, "vkv.backup")
	f, err := os.Create(backupFile)
	if err != nil {
		t.Fatal(err)
	}
	backup := exec.Command(bin, "backup")
	backup.Env = append(os.Environ(), envEndpoint+"="+srv.base, envToken+"=bin-token")
	var backupErr bytes.Buffer
	backup.Stdout, backup.Stderr = f, &backupErr
	if err := backup.Run(); err != nil || backupErr.Len() > 0 {
		t.Fatalf("vkv backup > file: %v\n%s", err, &backupErr)
	}
	f.Close()
	v.ok("", "put", "after-backup", "x")

	// Restore offline into a new directory and serve it.
	restored := filepath.Join(tmp, "restored")
	b, err := os.ReadFile(backupFile)
	if err != nil {
		t.Fatal(err)
	}
	if out := v.ok(string(b), "restore", "-dir", restored); !strings.HasSuffix(out, "the store is at version "+last.String()+"\n") {
		t.Errorf("restore printed %q", out)
	}
	srv2 := start(t, bin, "-dir", restored, "-token-file", tokenFile, "-nosync")
	c2, err := vkvclient.New(srv2.base, vkvclient.WithToken("bin-token"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if diff := cmp.Diff(want, snapshotOf(t, ctx, c2, keys)); diff != "" {
		t.Errorf("the restored store differs (-original +restored):\n%s", diff)
	}
	v2 := &binCLI{t: t, bin: bin, endpoint: srv2.base, token: "bin-token"}
	if got := v2.ok("", "ls", "-o", "json"); got != wantLs {
		t.Errorf("ls -o json of the restored store:\n%s\nwant:\n%s", got, wantLs)
	}
	if _, err := c2.Get(ctx, "after-backup"); !errors.Is(err, vkv.ErrNotFound) {
		t.Errorf("a write after the backup is in it: %v", err)
	}
	if got := v2.ok("", "put", "after-restore", "y"); got != (last+1).String()+"\n" {
		t.Errorf("first write after the restore got version %q, want %d", got, last+1)
	}
	// The restored store's change feed is whole: a watch from 0 replays it.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var feed []string
	for e, err := range c2.Watch(wctx, "", 0) {
		if err != nil {
			t.Fatalf("watch of the restored store: %v", err)
		}
		feed = append(feed, e.Version.String()+" "+e.Key)
		if e.Version == last+1 {
			break
		}
	}
	if len(feed) != int(last)+2 { // every version; the transaction at 8 wrote two keys
		t.Errorf("the restored change feed has %d changes: %q", len(feed), feed)
	}
	srv2.stop(t)
	srv.stop(t)
}
