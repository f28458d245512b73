package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/wire"
)

// cliServer is an httptest server over httpapi and an in-memory store, for
// the client commands to talk to.
type cliServer struct {
	url   string
	token string
	store *vkv.Store
}

const cliToken = "cli-token"

// newCLIServer starts a server with the token cliToken over a new
// in-memory store opened with opts.
func newCLIServer(t *testing.T, opts *vkv.Options, wrap func(vkv.KV) vkv.KV) *cliServer {
	t.Helper()
	if opts == nil {
		opts = &vkv.Options{}
	}
	opts.InMemory = true
	s, err := vkv.Open("", opts)
	if err != nil {
		t.Fatal(err)
	}
	var kv vkv.KV = s
	if wrap != nil {
		kv = wrap(s)
	}
	srv := httptest.NewServer(httpapi.New(kv, httpapi.WithToken(cliToken)))
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	return &cliServer{url: srv.URL, token: cliToken, store: s}
}

// result is what one vkv command did.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs vkv with args, stdin and an environment naming the server (and
// its token, unless env overrides them: pairs of name and value).
func (s *cliServer) cli(t *testing.T, stdin string, args []string, env ...string) result {
	t.Helper()
	return s.cliCtx(t.Context(), stdin, args, env...)
}

func (s *cliServer) cliCtx(ctx context.Context, stdin string, args []string, env ...string) result {
	vars := map[string]string{envEndpoint: s.url, envToken: s.token}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	var out, errOut bytes.Buffer
	ctx = withEnv(ctx, &cliEnv{stdin: strings.NewReader(stdin), getenv: func(k string) string { return vars[k] }})
	code := run(ctx, args, &out, &errOut)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// ok runs vkv and fails the test unless it exits 0; it returns stdout.
func (s *cliServer) ok(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := s.cli(t, stdin, args)
	if r.code != 0 {
		t.Fatalf("vkv %q: exit %d, stderr:\n%s", args, r.code, r.stderr)
	}
	return r.stdout
}

// fails runs vkv and checks that it exits with code and that stderr holds
// want.
func (s *cliServer) fails(t *testing.T, code int, want string, stdin string, args ...string) result {
	t.Helper()
	r := s.cli(t, stdin, args)
	if r.code != code || !strings.Contains(r.stderr, want) {
		t.Errorf("vkv %q: exit %d, stderr %q; want exit %d with %q", args, r.code, r.stderr, code, want)
	}
	return r
}

// jsonLines decodes one JSON value per line of out into T.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var vs []T
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v T
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		vs = append(vs, v)
	}
	return vs
}

// entriesJSON returns what -o json prints for es, as decoded: tombstones
// carry no createVersion over HTTP, and keys that are not UTF-8 come as
// the lossy key and the exact keyBase64.
func entriesJSON(es []vkv.Entry) []entryJSON {
	out := make([]entryJSON, len(es))
	for i := range es {
		j := entryOf(&es[i])
		b, _ := json.Marshal(j)
		json.Unmarshal(b, &out[i])
	}
	return out
}

// problemOf decodes a problem printed to stderr.
func problemOf(t *testing.T, stderr string) wire.Problem {
	t.Helper()
	var p wire.Problem
	dec := json.NewDecoder(strings.NewReader(stderr))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("stderr is not a problem: %v\n%s", err, stderr)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// TestCLIReadWrite runs put, get, cas and del against a server: raw and
// JSON output, values from arguments and stdin, TTLs, past versions,
// conflicts (exit 3, the problem on stderr) and missing keys (exit 1).
func TestCLIReadWrite(t *testing.T) {
	ctx := t.Context()
	s := newCLIServer(t, nil, nil)

	if got := s.ok(t, "", "put", "a", "hello"); got != "1\n" {
		t.Errorf("put a hello printed %q, want the version 1", got)
	}
	binary := "line 1\nline 2\x00\xff"
	if got := s.ok(t, binary, "put", "b"); got != "2\n" {
		t.Errorf("put b < stdin printed %q", got)
	}
	if got := s.ok(t, "", "get", "b"); got != binary {
		t.Errorf("get b = %q, want the raw value %q", got, binary)
	}
	if got := s.ok(t, "", "put", "empty", ""); got != "3\n" {
		t.Errorf("put empty '' printed %q", got)
	}
	if got := s.ok(t, "", "get", "empty"); got != "" {
		t.Errorf("get empty = %q", got)
	}
	// Flags after the arguments, and "--" for a value that looks like a flag.
	if got := s.ok(t, "", "put", "lease", "held", "-ttl", "1h", "-o", "json"); got != `{"key":"lease","version":4}`+"\n" {
		t.Errorf("put -ttl -o json printed %q", got)
	}
	s.ok(t, "", "put", "-ttl", "30", "--", "-dash", "-value")

	for _, key := range []string{"a", "b", "empty", "lease", "-dash"} {
		out := s.ok(t, "", "get", "-o", "json", "--", key)
		e, err := s.store.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(entriesJSON([]vkv.Entry{e}), jsonLines[entryJSON](t, out)); diff != "" {
			t.Errorf("get -o json %s (-store +printed):\n%s", key, diff)
		}
	}
	e, _ := s.store.Get(ctx, "-dash")
	if d := time.Until(e.ExpiresAt); d < 25*time.Second || d > 31*time.Second {
		t.Errorf("put -ttl 30: expires in %v", d)
	}

	// CAS: success, then a stale version and create-only on an existing key.
	if got := s.ok(t, "", "cas", "a", "1", "hi"); got != "6\n" {
		t.Errorf("cas a 1 hi printed %q", got)
	}
	if got := s.ok(t, "", "get", "-version", "1", "a"); got != "hello" {
		t.Errorf("get -version 1 a = %q, want hello", got)
	}
	r := s.fails(t, 3, `#conflict"`, "", "cas", "a", "1", "lost")
	want := wire.Problem{Type: wire.ProblemTypeBase + "conflict", Title: "Version conflict", Status: 409,
		Detail: `key "a" is at version 6, not 1`, Instance: "/v1/kv/a", Key: ptr("a"),
		ExpectedVersion: ptr(vkv.Version(1)), CurrentVersion: ptr(vkv.Version(6)),
		CurrentValue: ptr([]byte("hi")), CurrentCreateVersion: 1}
	if diff := cmp.Diff(want, problemOf(t, r.stderr)); diff != "" || r.stdout != "" {
		t.Errorf("cas conflict: stdout %q, problem (-want +got):\n%s", r.stdout, diff)
	}
	s.fails(t, 3, `"currentVersion":6`, "", "cas", "a", "0", "create")
	if got := s.ok(t, "x", "cas", "-o", "json", "new", "0"); got != `{"key":"new","version":7}`+"\n" {
		t.Errorf("cas -o json new 0 < stdin printed %q", got)
	}
	if got, _ := s.store.Get(ctx, "new"); string(got.Value) != "x" {
		t.Errorf("cas new 0 < stdin wrote %q", got.Value)
	}

	// Delete: a wrong version (3), the right one, a missing key (1).
	r = s.fails(t, 3, `"expectedVersion":5`, "", "del", "a", "-version", "5")
	if p := problemOf(t, r.stderr); p.Status != 409 || *p.CurrentVersion != 6 {
		t.Errorf("del -version 5: problem %+v", p)
	}
	if got := s.ok(t, "", "del", "-version", "6", "a"); got != "8\n" {
		t.Errorf("del -version 6 a printed %q", got)
	}
	if got := s.ok(t, "", "del", "b"); got != "9\n" {
		t.Errorf("del b printed %q", got)
	}
	s.fails(t, 1, `vkv del: not-found: key "b" does not exist`, "", "del", "b")
	s.fails(t, 1, `vkv get: not-found: key "a" does not exist`, "", "get", "a")
	s.fails(t, 1, "vkv get: invalid-version", "", "get", "-version", "99", "new")
	// The client knows the server's limits: it refuses a value over them
	// itself, with the store's error, without sending it.
	s.fails(t, 1, `vkv put: vkv: value too large: key "big": 2097152 over the limit of`, strings.Repeat("x", 2<<20), "put", "big")
}

// TestCLIListHistory checks that ls pages through every key (more than a
// page of the server), -limit, -after and -o json, and history in both
// outputs, deletes and expiries included.
func TestCLIListHistory(t *testing.T) {
	ctx := t.Context()
	s := newCLIServer(t, nil, nil)
	var keys []string
	for i := range 2345 {
		keys = append(keys, fmt.Sprintf("many/%05d", i))
	}
	_, err := s.store.Update(ctx, func(tx vkv.Txn) error {
		for _, k := range keys[:1000] {
			tx.Put(k, []byte("v"+k))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[1000:] {
		if _, err := s.store.Put(ctx, k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	s.store.Put(ctx, "other", []byte("o"))
	s.store.Put(ctx, "\xffnot-utf8", []byte("n"))

	if got := s.ok(t, "", "ls", "many/"); got != strings.Join(keys, "\n")+"\n" {
		t.Errorf("ls many/ printed %d lines, want the %d keys", strings.Count(got, "\n"), len(keys))
	}
	if got := s.ok(t, "", "ls", "-limit", "1500", "many/"); got != strings.Join(keys[:1500], "\n")+"\n" {
		t.Errorf("ls -limit 1500 printed %d lines", strings.Count(got, "\n"))
	}
	if got := s.ok(t, "", "ls", "-after", keys[2340], "many/"); got != strings.Join(keys[2341:], "\n")+"\n" {
		t.Errorf("ls -after printed %q", got)
	}
	var all []vkv.Entry
	for after := ""; ; {
		lr, err := s.store.List(ctx, "", after, 1000)
		page, next := lr.Entries, lr.Next
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		after = next
	}
	got := jsonLines[entryJSON](t, s.ok(t, "", "ls", "-o", "json"))
	if diff := cmp.Diff(entriesJSON(all), got); diff != "" {
		t.Errorf("ls -o json (-store +printed):\n%s", diff)
	}
	if last := got[len(got)-1]; last.Key != "\ufffdnot-utf8" || string(last.KeyBase64) != "\xffnot-utf8" {
		t.Errorf("ls -o json: a key that is not UTF-8 printed as %+v", last)
	}

	// History: puts, a delete, a re-create with a TTL that expires.
	s.store.Put(ctx, "h", []byte("one"))
	s.store.Put(ctx, "h", []byte("two"))
	s.store.Delete(ctx, "h")
	s.store.Put(ctx, "h", []byte("three"), vkv.WithTTL(50*time.Millisecond))
	deadline := time.Now().Add(10 * time.Second)
	var h []vkv.Entry
	for {
		if h, err = s.store.History(ctx, "h", 0); err != nil {
			t.Fatal(err)
		}
		if h[0].Deleted || time.Now().After(deadline) {
			break // the expiry is recorded
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(h) != 5 {
		t.Fatalf("history of h: %d entries, want 5", len(h))
	}
	var wantRaw strings.Builder
	for _, e := range h {
		if e.Deleted {
			fmt.Fprintf(&wantRaw, "%d\tdelete\n", e.Version)
		} else {
			fmt.Fprintf(&wantRaw, "%d\tput\t%s\n", e.Version, e.Value)
		}
	}
	if got := s.ok(t, "", "history", "h"); got != wantRaw.String() {
		t.Errorf("history h printed:\n%s\nwant:\n%s", got, wantRaw.String())
	}
	if diff := cmp.Diff(entriesJSON(h), jsonLines[entryJSON](t, s.ok(t, "", "history", "-o", "json", "h"))); diff != "" {
		t.Errorf("history -o json h (-store +printed):\n%s", diff)
	}
	if diff := cmp.Diff(entriesJSON(h[:2]), jsonLines[entryJSON](t, s.ok(t, "", "history", "h", "-limit", "2", "-o", "json"))); diff != "" {
		t.Errorf("history -limit 2 (-store +printed):\n%s", diff)
	}
	if got := s.ok(t, "", "history", "never-written"); got != "" {
		t.Errorf("history of a key never written printed %q", got)
	}
}

// TestCLITxn runs transactions from stdin and from a file: success,
// conflicts listing every failed condition (exit 3), and transactions the
// server would refuse, refused before they are sent (exit 1).
func TestCLITxn(t *testing.T) {
	ctx := t.Context()
	s := newCLIServer(t, nil, nil)
	s.ok(t, "", "put", "a", "1")
	s.ok(t, "", "put", "b", "2")
	txn := `{"conditions":[{"key":"a","version":1},{"key":"c","version":0}],
		"ops":[{"op":"put","key":"c","value":"bmV3","ttl":"1h"},{"op":"delete","key":"b"},{"op":"put","key":"\u00e9","value":""}]}`
	if got := s.ok(t, txn, "txn"); got != "3\n" {
		t.Errorf("txn printed %q, want 3", got)
	}
	for key, want := range map[string]string{"c": "new", "é": ""} {
		e, err := s.store.Get(ctx, key)
		if err != nil || string(e.Value) != want || e.Version != 3 {
			t.Errorf("after txn %s = %q at %d, %v", key, e.Value, e.Version, err)
		}
		if key == "c" && e.ExpiresAt.IsZero() {
			t.Errorf("txn ttl not applied")
		}
	}
	if _, err := s.store.Get(ctx, "b"); err == nil {
		t.Errorf("txn did not delete b")
	}

	// Both conditions fail: nothing is written.
	r := s.fails(t, 3, `"conflicts"`, strings.Replace(txn, `"version":1`, `"version":2`, 1), "txn", "-o", "json")
	p := problemOf(t, r.stderr)
	wantConflicts := []wire.ConflictItem{{Key: "a", ExpectedVersion: 2, CurrentVersion: 1}, {Key: "c", ExpectedVersion: 0, CurrentVersion: 3}}
	got := p.Conflicts
	for i := range got {
		got[i].CurrentValue, got[i].CurrentCreateVersion, got[i].CurrentExpiresAt = nil, 0, nil
	}
	if diff := cmp.Diff(wantConflicts, got); diff != "" || p.Status != 409 || p.Instance != "/v1/txn" || r.stdout != "" {
		t.Errorf("txn conflict: stdout %q, problem %+v, conflicts (-want +got):\n%s", r.stdout, p, diff)
	}
	if v, _ := s.store.CurrentVersion(ctx); v != 3 {
		t.Errorf("a failed txn wrote: store at version %d", v)
	}

	file := filepath.Join(t.TempDir(), "txn.json")
	os.WriteFile(file, []byte(`{"ops":[{"op":"delete","key":"c"}]}`), 0o600)
	if got := s.ok(t, "", "txn", "-o", "json", file); got != `{"version":4}`+"\n" {
		t.Errorf("txn FILE -o json printed %q", got)
	}
	if got := s.ok(t, `{"conditions":[{"key":"a","version":1}]}`, "txn", "-"); got != "4\n" {
		t.Errorf("txn of conditions only printed %q, want the newest version 4", got)
	}

	for _, bad := range []struct{ body, want string }{
		{``, "want a JSON object"},
		{`null`, "want a JSON object"},
		{`{"ops":[{"op":"put","key":"x"}]}`, "a put needs a value"},
		{`{"ops":[{"op":"frob","key":"x"}]}`, `unknown op "frob"`},
		{`{"ops":[{"op":"put","key":"x","value":""},{"op":"delete","key":"x"}]}`, "more than one op"},
		{`{"ops":[{"op":"delete","key":"x","value":""}]}`, "no value and no ttl"},
		{`{"conditions":[{"key":"x"}]}`, "has no version"},
		{`{"ops":[],"extra":1}`, "unknown field"},
		{`{"ops":[{"op":"put","key":"x","value":"!!"}]}`, "illegal base64"},
		{`{"ops":[{"op":"put","key":"x","value":"","ttl":"soon"}]}`, `ttl "soon"`},
		{`{} {}`, "more than one JSON value"},
		{`{"ops":[{"op":"put","key":"","value":""}]}`, "invalid key"},
	} {
		s.fails(t, 1, bad.want, bad.body, "txn")
	}
	s.fails(t, 1, "no such file", "", "txn", filepath.Join(t.TempDir(), "missing.json"))
	if v, _ := s.store.CurrentVersion(ctx); v != 4 {
		t.Errorf("refused transactions wrote: store at version %d", v)
	}
}

// TestCLIWatch checks that watch replays from -from, follows new changes
// until its context ends (exit 0), prints JSON, and fails (exit 1) when the
// changes asked for were compacted.
func TestCLIWatch(t *testing.T) {
	ctx := t.Context()
	s := newCLIServer(t, &vkv.Options{HistoryVersions: 3}, nil)
	s.ok(t, "", "put", "w/a", "1")
	s.ok(t, "", "put", "other", "x")
	s.ok(t, "", "put", "w/b", "2")
	s.ok(t, "", "del", "w/a")

	if got := s.ok(t, "", "watch", "-from", "0", "-count", "3", "w/"); got != "1\tput\tw/a\t1\n3\tput\tw/b\t2\n4\tdelete\tw/a\n" {
		t.Errorf("watch -from 0 -count 3 w/ printed %q", got)
	}
	got := jsonLines[entryJSON](t, s.ok(t, "", "watch", "-from", "1", "-count", "2", "-o", "json"))
	want := []entryJSON{{Key: "other", Version: 2, CreateVersion: 2, Value: []byte("x")}, {Key: "w/b", Version: 3, CreateVersion: 3, Value: []byte("2")}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("watch -from 1 -o json (-want +got):\n%s", diff)
	}

	// Without -from: only new changes, until the context ends.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		env := &cliEnv{stdin: strings.NewReader(""), getenv: func(k string) string {
			return map[string]string{envEndpoint: s.url, envToken: s.token}[k]
		}}
		done <- run(withEnv(wctx, env), []string{"watch", "w/"}, &out, &errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; !strings.Contains(out.String(), "\tput\tw/new\t") && time.Now().Before(deadline); i++ {
		s.store.Put(ctx, "w/new", []byte(strconv.Itoa(i)))
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("interrupted watch: exit %d, stderr %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) == 0 || !strings.Contains(lines[0], "\tput\tw/new\t") || strings.Contains(out.String(), "w/b") {
		t.Errorf("watch w/ from now printed %q", out.String())
	}
	for i := 1; i < len(lines); i++ {
		a, _ := strconv.Atoi(strings.Split(lines[i-1], "\t")[0])
		b, _ := strconv.Atoi(strings.Split(lines[i], "\t")[0])
		if b <= a {
			t.Errorf("watch printed versions out of order: %q", lines)
		}
	}

	// Compacted: the changes after version 0 are gone.
	for i := range 10 {
		s.store.Put(ctx, "churn", []byte(strconv.Itoa(i)))
	}
	if err := s.store.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	// The -from it names is the lowest that works: one below the oldest
	// version kept, whose change is the first printed.
	oldest, err := s.store.OldestVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	from := strconv.FormatUint(uint64(oldest-1), 10)
	s.fails(t, 1, "no longer kept; start again with -from "+from+" or later", "", "watch", "-from", "0")
	if got := s.ok(t, "", "watch", "-from", from, "-count", "1"); !strings.HasPrefix(got, strconv.FormatUint(uint64(oldest), 10)+"\t") {
		t.Errorf("watch -from %s -count 1 printed %q, want the change at version %d", from, got, oldest)
	}
}

// TestCLIAuthAndEndpoint checks the token from -token, -token-file and
// $VKV_TOKEN, the endpoint from -endpoint and $VKV_ENDPOINT, and their
// errors.
func TestCLIAuthAndEndpoint(t *testing.T) {
	s := newCLIServer(t, nil, nil)
	s.ok(t, "", "put", "k", "v")
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(cliToken+"\n"), 0o600)
	emptyFile := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(emptyFile, nil, 0o600)

	for _, c := range []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		{name: "no token", args: []string{"get", "k"}, env: []string{envToken, ""}, code: 1, want: "unauthorized: this request carries no credentials: send the header Authorization: Bearer <token>"},
		{name: "wrong token", args: []string{"get", "k"}, env: []string{envToken, "nope"}, code: 1, want: "unauthorized: the credentials sent are not known to this server: check the token"},
		{name: "wrong token hint", args: []string{"get", "k"}, env: []string{envToken, "nope"}, code: 1, want: "give -token, -token-file or $VKV_TOKEN"},
		{name: "-token", args: []string{"get", "-token", cliToken, "k"}, env: []string{envToken, ""}, code: 0},
		{name: "-token wins", args: []string{"get", "-token", cliToken, "k"}, env: []string{envToken, "nope"}, code: 0},
		{name: "-token-file", args: []string{"get", "-token-file", tokenFile, "k"}, env: []string{envToken, ""}, code: 0},
		{name: "both", args: []string{"get", "-token", "a", "-token-file", tokenFile, "k"}, code: 2, want: "not both"},
		{name: "missing token file", args: []string{"get", "-token-file", tokenFile + ".no", "k"}, code: 1, want: "reading the token"},
		{name: "empty token file", args: []string{"get", "-token-file", emptyFile, "k"}, code: 1, want: "is empty"},
		{name: "-endpoint", args: []string{"get", "-endpoint", s.url, "k"}, env: []string{envEndpoint, "http://127.0.0.1:1"}, code: 0},
		{name: "bad endpoint", args: []string{"get", "k"}, env: []string{envEndpoint, "ftp://x"}, code: 2, want: "want http://host:port"},
		{name: "nobody there", args: []string{"get", "k"}, env: []string{envEndpoint, "http://127.0.0.1:1"}, code: 1, want: "connection refused"},
	} {
		r := s.cli(t, "", c.args, c.env...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: vkv %q: exit %d, stderr %q; want exit %d with %q", c.name, c.args, r.code, r.stderr, c.code, c.want)
		}
		if c.code == 0 && r.stdout != "v" {
			t.Errorf("%s: printed %q", c.name, r.stdout)
		}
	}
}

// TestCLIUsage checks that wrong command lines exit 2 with a message and
// the usage, before anything is sent.
func TestCLIUsage(t *testing.T) {
	s := newCLIServer(t, nil, nil)
	for _, args := range [][]string{
		{"get"}, {"get", "a", "b"}, {"get", "-version", "x", "a"}, {"get", "-version", "-1", "a"}, {"get", "-o", "yaml", "a"},
		{"get", "-nope", "a"}, {"put"}, {"put", "a", "b", "c"}, {"put", "-ttl", "-5s", "a", "b"}, {"put", "-ttl", "soon", "a", "b"},
		{"cas", "a"}, {"cas", "a", "x", "v"}, {"cas", "a", "01", "v"}, {"cas", "a", "1", "v", "w"},
		{"del"}, {"del", "-version", "abc", "a"}, {"ls", "a", "b"}, {"ls", "-limit", "-1"}, {"history"}, {"history", "-limit", "-2", "a"},
		{"txn", "a", "b"}, {"watch", "a", "b"}, {"watch", "-count", "-1"}, {"watch", "-from", "x"},
		{"backup", "extra"}, {"restore"}, {"restore", "-dir", "d", "a", "b"}, {"help", "nope"},
	} {
		r := s.cli(t, "", args)
		if r.code != 2 || (args[0] != "help" && !strings.Contains(r.stderr, "Usage: vkv "+args[0])) || r.stdout != "" {
			t.Errorf("vkv %q: exit %d, stdout %q, stderr %q; want exit 2 and the usage", args, r.code, r.stdout, r.stderr)
		}
	}
	if v, _ := s.store.CurrentVersion(t.Context()); v != 0 {
		t.Errorf("usage errors wrote: store at version %d", v)
	}
}

// TestCLIHelp checks that vkv help lists every command and that every
// command's help (vkv help CMD and vkv CMD -h, exit 0) shows its usage, an
// example and every flag.
func TestCLIHelp(t *testing.T) {
	s := newCLIServer(t, nil, nil)
	overview := s.ok(t, "", "help")
	for _, want := range []string{"Exit status: 0 success, 1 error, 2 usage, 3 conflict", "$VKV_ENDPOINT", "$VKV_TOKEN", "-o json"} {
		if !strings.Contains(overview, want) {
			t.Errorf("vkv help does not say %q:\n%s", want, overview)
		}
	}
	flags := map[string][]string{
		"serve":   {"-addr", "-dir", "-token-file", "-auth-file", "-tls-cert", "-tls-key", "-tls-client-ca", "-nosync", "-profile", "-log-level"},
		"token":   {"-name", "-grant"},
		"restore": {"-dir"},
		"get":     {"-version", "-o", "-endpoint", "-token", "-token-file"},
		"put":     {"-ttl", "-o", "-endpoint"},
		"cas":     {"-ttl", "-o", "-endpoint"},
		"del":     {"-version", "-o", "-endpoint"},
		"ls":      {"-limit", "-after", "-o", "-endpoint"},
		"history": {"-limit", "-o", "-endpoint"},
		"txn":     {"-o", "-endpoint"},
		"watch":   {"-from", "-count", "-o", "-endpoint"},
		"backup":  {"-out", "-endpoint", "-token"},
		"whoami":  {"-o", "-endpoint", "-token", "-token-file"},
	}
	for _, c := range commands {
		if c.name == "help" {
			continue
		}
		if !strings.Contains(overview, "\t"+c.name+" ") {
			t.Errorf("vkv help does not list %s", c.name)
		}
		want, ok := flags[c.name]
		if !ok {
			t.Errorf("command %s has no row in this test", c.name)
		}
		help := s.ok(t, "", "help", c.name)
		r := s.cli(t, "", []string{c.name, "-h"})
		if r.code != 0 || r.stderr != help {
			t.Errorf("vkv %s -h: exit %d, and its text differs from vkv help %s:\n%s", c.name, r.code, c.name, r.stderr)
		}
		_, example, _ := strings.Cut(help, "Example:\n\t")
		if example, _, _ = strings.Cut(example, "\n"); !strings.Contains(help, "Usage: vkv "+c.name) || !strings.Contains(example+" ", "vkv "+c.name+" ") {
			t.Errorf("vkv help %s has no usage or example:\n%s", c.name, help)
		}
		for _, f := range want {
			if !strings.Contains(help, "  "+f+" ") && !strings.Contains(help, "  "+f+"\n") {
				t.Errorf("vkv help %s does not describe %s:\n%s", c.name, f, help)
			}
		}
	}
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	for _, n := range []string{"serve", "get", "put", "cas", "del", "ls", "history", "txn", "watch", "backup", "restore", "help"} {
		if !slices.Contains(names, n) {
			t.Errorf("no command %s", n)
		}
	}
}
