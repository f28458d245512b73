package vkvclient_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvclient"
	"github.com/vkvstore/vkv/wire"
)

// TestBackup writes through the client, takes a backup through it,
// restores it and compares every key and its history with the served
// store.
func TestBackup(t *testing.T) {
	ctx := t.Context()
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(httpapi.New(s, httpapi.WithToken("t0ken")))
	defer srv.Close()
	c, err := vkvclient.New(srv.URL, vkvclient.WithToken("t0ken"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, k := range []string{"a", "b", "c", "a", "d"} {
		if _, err := c.Put(ctx, k, []byte(strings.Repeat(k, i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Delete(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "ttl", []byte("x"), vkv.WithTTL(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Backup(ctx, &buf); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if err := vkv.Restore(dir, &buf, nil); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	r, err := vkv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	lr, err := s.List(ctx, "", "", 100)
	want := lr.Entries
	if err != nil {
		t.Fatal(err)
	}
	lr, err = r.List(ctx, "", "", 100)
	got := lr.Entries
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" || len(got) != 4 {
		t.Errorf("restored List differs (-served +restored):\n%s", diff)
	}
	for _, k := range []string{"a", "b", "c", "d", "ttl"} {
		wh, err := s.History(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		gh, err := r.History(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wh, gh); diff != "" || len(gh) == 0 {
			t.Errorf("restored History(%q) differs (-served +restored):\n%s", k, diff)
		}
	}
}

// TestBackupErrors checks that the client never returns nil for a backup
// it did not get whole, and the errors of servers that cannot back up.
func TestBackupErrors(t *testing.T) {
	ctx := t.Context()
	cases := []struct {
		name    string
		handler http.HandlerFunc
		check   func(err error) bool
	}{
		{name: "no trailer", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Trailer", wire.HeaderBackupSize)
			w.Write([]byte("part of a backup"))
		}, check: func(err error) bool { return err != nil && strings.Contains(err.Error(), "incomplete") }},
		{name: "wrong size", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Trailer", wire.HeaderBackupSize)
			w.Write([]byte("part of a backup"))
			w.Header().Set(wire.HeaderBackupSize, "1000")
		}, check: func(err error) bool { return err != nil && strings.Contains(err.Error(), "incomplete") }},
		{name: "cut off", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Trailer", wire.HeaderBackupSize)
			w.Write([]byte("part of a backup"))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}, check: func(err error) bool { return err != nil && strings.Contains(err.Error(), "cut off") }},
		{name: "not octets", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>a login page</html>"))
		}, check: func(err error) bool {
			var pe *vkvclient.ProblemError
			return errors.As(err, &pe) && pe.StatusCode == 200
		}},
		{name: "no route", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(404)
			w.Write([]byte(`{"type":"` + wire.ProblemTypeBase + `not-found","title":"Not found","status":404,"detail":"no route matches this path","instance":"/v1/backup"}`))
		}, check: func(err error) bool { return errors.Is(err, errors.ErrUnsupported) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c, err := vkvclient.New(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var buf bytes.Buffer
			if err := c.Backup(ctx, &buf); !tc.check(err) {
				t.Errorf("Backup: %v (%d bytes written)", err, buf.Len())
			}
		})
	}

	// A KV that cannot back up: 501, errors.ErrUnsupported.
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(httpapi.New(struct{ vkv.KV }{s}, httpapi.WithToken("t0ken")))
	defer srv.Close()
	c, err := vkvclient.New(srv.URL, vkvclient.WithToken("t0ken"))
	if err != nil {
		t.Fatal(err)
	}
	var pe *vkvclient.ProblemError
	if err := c.Backup(ctx, &bytes.Buffer{}); !errors.Is(err, errors.ErrUnsupported) || !errors.As(err, &pe) || pe.StatusCode != 501 {
		t.Errorf("Backup of a KV without Backup: %v; want a 501 *ProblemError matching errors.ErrUnsupported", err)
	}
	c.Close()
	if err := c.Backup(ctx, &bytes.Buffer{}); !errors.Is(err, vkv.ErrClosed) {
		t.Errorf("Backup after Close: %v, want vkv.ErrClosed", err)
	}
	// A wrong token: 401.
	c2, err := vkvclient.New(srv.URL, vkvclient.WithToken("wrong"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Backup(ctx, &bytes.Buffer{}); !errors.As(err, &pe) || pe.StatusCode != 401 {
		t.Errorf("Backup with a wrong token: %v, want a 401 *ProblemError", err)
	}
}
