package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvclient"
)

// TestServeWatchRestart builds vkv, watches it with the Go client, and
// restarts it (SIGTERM, then the same address and directory) twice while
// the watch runs and writes go on between the restarts. SIGTERM must not
// wait for the open watch stream, and the client must deliver every change
// exactly once, in order, across the restarts.
func TestServeWatchRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tmp := t.TempDir()
	bin := vkvBinary(t)
	dir := filepath.Join(tmp, "data")
	srv := start(t, bin, "-dir", dir, "-nosync")
	addr := strings.TrimPrefix(srv.base, "http://")
	c, err := vkvclient.New(srv.base)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var (
		mu  sync.Mutex
		got []string
	)
	done := make(chan error, 1)
	go func() {
		for e, err := range c.Watch(ctx, "", 0) {
			if err != nil {
				done <- err
				return
			}
			mu.Lock()
			got = append(got, fmt.Sprintf("%d %s %q %v", e.Version, e.Key, e.Value, e.Deleted))
			mu.Unlock()
			if e.Key == "end" {
				break
			}
		}
		done <- nil
	}()
	write := func(round int) {
		t.Helper()
		for i := range 20 {
			if _, err := c.Put(ctx, fmt.Sprintf("r%d/p%d", round, i), []byte(fmt.Sprint(i))); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if i%5 == 4 {
				if _, err := c.Update(ctx, func(tx vkv.Txn) error {
					tx.Put(fmt.Sprintf("r%d/t%d/a", round, i), nil)
					tx.Put(fmt.Sprintf("r%d/t%d/b", round, i), nil)
					return tx.Delete(fmt.Sprintf("r%d/p%d", round, i))
				}); err != nil {
					t.Fatalf("Update: %v", err)
				}
			}
		}
	}
	for round := range 2 {
		write(round)
		begin := time.Now()
		srv.stop(t)
		if d := time.Since(begin); d > 10*time.Second {
			t.Errorf("SIGTERM with a watch open took %v to stop the server", d)
		}
		srv = start(t, bin, "-dir", dir, "-nosync", "-addr", addr)
	}
	write(2)
	if _, err := c.Put(ctx, "end", nil); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("watch across restarts: %v", err)
	}

	// What a fresh watch of the restarted server replays.
	var want []string
	for e, err := range c.Watch(ctx, "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%d %s %q %v", e.Version, e.Key, e.Value, e.Deleted))
		if e.Key == "end" {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("watch across two restarts (-replayed after +watched across):\n%s", diff)
	}
	srv.stop(t)
}
