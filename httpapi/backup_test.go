package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/wire"
)

const backupToken = "backup-token"

// errBackupFailed is an internal error of a backup, with details a response
// must not show.
var errBackupFailed = errors.New("badger: reading /var/lib/vkv/000042.sst: input/output error")

// backupKV is a KV whose Backup writes chunks (with a pause before each)
// and then fails with err, if set.
type backupKV struct {
	vkv.KV
	chunks [][]byte
	pause  time.Duration
	err    error
}

func (b backupKV) Backup(ctx context.Context, w io.Writer) error {
	for _, c := range b.chunks {
		time.Sleep(b.pause)
		if _, err := w.Write(c); err != nil {
			return err
		}
	}
	return b.err
}

// getBackup sends method /v1/backup to srv with the token and returns the
// response and its body; readErr is the error reading the body.
func getBackup(t *testing.T, srv *httptest.Server, method, token string) (resp *http.Response, body []byte, readErr error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+"/v1/backup", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s /v1/backup: %v", method, err)
	}
	defer resp.Body.Close()
	body, readErr = io.ReadAll(resp.Body)
	return resp, body, readErr
}

// TestBackupRoute checks GET /v1/backup: a complete backup with its size in
// the trailer that vkv.Restore reads back, HEAD, authentication, 405, and
// the problems of a KV that cannot back up (501) and of a closed store
// (503).
func TestBackupRoute(t *testing.T) {
	ctx := t.Context()
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 50 {
		if _, err := s.Put(ctx, "k/"+strconv.Itoa(i), bytes.Repeat([]byte{byte(i)}, i*100)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Delete(ctx, "k/7"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(s, httpapi.WithToken(backupToken)))
	defer srv.Close()

	resp, body, err := getBackup(t, srv, "GET", backupToken)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/backup: %d, %v", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q, want application/octet-stream", ct)
	}
	if got := resp.Trailer.Get(wire.HeaderBackupSize); got != strconv.Itoa(len(body)) {
		t.Errorf("trailer %s = %q, want %d (the body's length)", wire.HeaderBackupSize, got, len(body))
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if err := vkv.Restore(dir, bytes.NewReader(body), nil); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	r, err := vkv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	lr, err := s.List(ctx, "", "", 1000)
	want := lr.Entries
	if err != nil {
		t.Fatal(err)
	}
	lr, err = r.List(ctx, "", "", 1000)
	got := lr.Entries
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" || len(got) != 49 {
		t.Errorf("restored List (%d keys) differs (-original +restored):\n%s", len(got), diff)
	}
	wv, _ := s.CurrentVersion(ctx)
	if rv, _ := r.CurrentVersion(ctx); rv != wv {
		t.Errorf("restored store at version %d, want %d", rv, wv)
	}

	// HEAD: the headers only.
	resp, body, err = getBackup(t, srv, "HEAD", backupToken)
	if err != nil || resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("HEAD /v1/backup: %d %q %q, %v", resp.StatusCode, resp.Header.Get("Content-Type"), body, err)
	}

	problems := []struct {
		name   string
		srv    *httptest.Server
		method string
		token  string
		status int
		want   string
	}{
		{name: "no token", srv: srv, method: "GET", status: 401, want: "unauthorized"},
		{name: "wrong token", srv: srv, method: "GET", token: "nope", status: 401, want: "unauthorized"},
		{name: "POST", srv: srv, method: "POST", token: backupToken, status: 405, want: "method-not-allowed"},
		{name: "not a Backupper", srv: httptest.NewServer(httpapi.New(struct{ vkv.KV }{s}, httpapi.WithToken(backupToken))),
			method: "GET", token: backupToken, status: 501, want: "not-implemented"},
		{name: "fails at once", srv: httptest.NewServer(httpapi.New(backupKV{KV: s, err: errBackupFailed}, httpapi.WithToken(backupToken))),
			method: "GET", token: backupToken, status: 500, want: "internal"},
	}
	for _, p := range problems {
		t.Run(p.name, func(t *testing.T) {
			if p.srv != srv {
				defer p.srv.Close()
			}
			resp, body, err := getBackup(t, p.srv, p.method, p.token)
			if err != nil || resp.StatusCode != p.status {
				t.Fatalf("status %d (%v), want %d; body %s", resp.StatusCode, err, p.status, body)
			}
			prob, err := checkProblem(resp.StatusCode, resp.Header, body, "/v1/backup")
			if err != nil {
				t.Fatal(err)
			}
			if prob.Name() != p.want {
				t.Errorf("problem %s, want %s", prob.Name(), p.want)
			}
			if p.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q, want GET, HEAD", resp.Header.Get("Allow"))
			}
		})
	}

	// A closed store: 503 unavailable, code closed.
	s2, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	srv2 := httptest.NewServer(httpapi.New(s2))
	defer srv2.Close()
	resp, body, _ = getBackup(t, srv2, "GET", "")
	if p, err := checkProblem(resp.StatusCode, resp.Header, body, "/v1/backup"); err != nil || resp.StatusCode != 503 || p.Code != "closed" {
		t.Errorf("backup of a closed store: %d %s (%v), want 503 unavailable, code closed", resp.StatusCode, body, err)
	}
}

// TestBackupRouteFailsMidway checks that a backup that fails after its first
// byte ends in a cut connection without the size trailer, never in a short
// body that looks complete, and that a slow backup outlives the server's
// WriteTimeout.
func TestBackupRouteFailsMidway(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chunks := [][]byte{bytes.Repeat([]byte("a"), 10_000), bytes.Repeat([]byte("b"), 10_000)}

	failing := httptest.NewServer(httpapi.New(backupKV{KV: s, chunks: chunks, err: errors.New("disk on fire")}))
	defer failing.Close()
	resp, body, err := getBackup(t, failing, "GET", "")
	if err == nil || resp.Trailer.Get(wire.HeaderBackupSize) != "" {
		t.Errorf("a backup that failed after %d bytes read without error (trailer %q)", len(body), resp.Trailer.Get(wire.HeaderBackupSize))
	}

	// Three pauses of 150 ms, each longer than the server's WriteTimeout.
	slowH := httpapi.New(backupKV{KV: s, chunks: [][]byte{{1}, {2}, {3}}, pause: 150 * time.Millisecond})
	slow := httptest.NewUnstartedServer(slowH)
	slow.Config = httpapi.NewServer(slowH, nil)
	slow.Config.WriteTimeout = 100 * time.Millisecond
	slow.Start()
	defer slow.Close()
	resp, body, err = getBackup(t, slow, "GET", "")
	if err != nil || !bytes.Equal(body, []byte{1, 2, 3}) || resp.Trailer.Get(wire.HeaderBackupSize) != "3" {
		t.Errorf("slow backup: %v, body %v, trailer %q; want all 3 bytes despite the 100ms WriteTimeout",
			err, body, resp.Trailer.Get(wire.HeaderBackupSize))
	}
}
