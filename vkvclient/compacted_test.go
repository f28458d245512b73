package vkvclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvclient"
	"github.com/vkvstore/vkv/wire"
)

// watchingKV is a KV with a change feed: the store and the client.
type watchingKV interface {
	vkv.KV
	vkv.Watcher
}

// TestCompactedErrorAgrees: after a real compaction, the *vkv.CompactedError
// of GetAt and of Watch carry the same Oldest, the oldest kept version, on
// the embedded store, in the 410 problem over HTTP, and through the client;
// a watch's error names no key.
func TestCompactedErrorAgrees(t *testing.T) {
	ctx := t.Context()
	s, err := vkv.Open("", &vkv.Options{InMemory: true, HistoryVersions: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i := range 20 {
		if _, err := s.Put(ctx, "k", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	oldest, err := s.OldestVersion(ctx)
	if err != nil || oldest != 16 {
		t.Fatalf("OldestVersion after keeping 5 of 20 versions: %d, %v; want 16", oldest, err)
	}
	srv := httptest.NewServer(httpapi.New(s, httpapi.WithToken(watchToken)))
	t.Cleanup(srv.Close)
	c, err := vkvclient.New(srv.URL, vkvclient.WithToken(watchToken))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	firstErr := func(kv watchingKV, from vkv.Version) error {
		for _, err := range kv.Watch(ctx, "", from) {
			if err != nil {
				return err
			}
		}
		return errors.New("the watch ended without an error")
	}
	for _, tc := range []struct {
		name string
		kv   watchingKV
	}{{"store", s}, {"client", c}} {
		t.Run(tc.name, func(t *testing.T) {
			_, getErr := tc.kv.GetAt(ctx, "k", 3)
			watchErr := firstErr(tc.kv, 2)
			var gce, wce *vkv.CompactedError
			if !errors.As(getErr, &gce) || !errors.As(watchErr, &wce) {
				t.Fatalf("GetAt below the kept history: %v; Watch from below it: %v; want *vkv.CompactedError from both", getErr, watchErr)
			}
			if diff := cmp.Diff(&vkv.CompactedError{Key: "k", Requested: 3, Oldest: oldest}, gce); diff != "" {
				t.Errorf("GetAt's CompactedError (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(&vkv.CompactedError{Requested: 2, Oldest: oldest}, wce); diff != "" {
				t.Errorf("Watch's CompactedError (-want +got):\n%s", diff)
			}
			if msg := watchErr.Error(); strings.Contains(msg, `key ""`) {
				t.Errorf("Watch's error names an empty key: %q", msg)
			}
			// The lowest from a watch accepts is Oldest-1.
			for e, err := range tc.kv.Watch(ctx, "", wce.Oldest-1) {
				if err != nil || e.Version != oldest {
					t.Errorf("Watch from Oldest-1: first event at version %d, %v; want version %d", e.Version, err, oldest)
				}
				break
			}
		})
	}

	t.Run("410 body", func(t *testing.T) {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/v1/watch?fromVersion=2", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+watchToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var p wire.Problem
		if resp.StatusCode != http.StatusGone || json.Unmarshal(body, &p) != nil {
			t.Fatalf("GET /v1/watch below the kept history: %d %s; want a 410 problem", resp.StatusCode, body)
		}
		if p.OldestVersion == nil || *p.OldestVersion != oldest || p.Key != nil || strings.Contains(p.Detail, `key ""`) {
			t.Errorf("410 problem of a watch: %s; want oldestVersion %d, no key, and a detail that names no key", body, oldest)
		}
	})
}
