package main

// The client commands (get, put, cas, del, ls, history, txn, watch, backup)
// and what they share: flags, the connection to the server, output, and how
// errors become exit codes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvclient"
	"github.com/vkvstore/vkv/wire"
)

// Exit codes beyond 0 (success), 1 (error) and 2 (usage).
const (
	// exitConflict is the exit code of a conflict or a failed precondition;
	// the server's problem is printed to stderr as JSON.
	exitConflict = 3
)

// Defaults and environment variables of the client commands.
const (
	defaultEndpoint = "http://127.0.0.1:8080"
	envEndpoint     = "VKV_ENDPOINT"
	envToken        = "VKV_TOKEN"
	// maxStdinValue bounds a value or transaction read from stdin; the
	// server's own limits are lower by default (1 MiB values, 8 MiB
	// transactions).
	maxStdinValue = 64 << 20
)

// cliHelp ends the overview of "vkv help".
const cliHelp = `Client commands talk to a server: -endpoint URL (default $VKV_ENDPOINT, else
http://127.0.0.1:8080; several comma-separated URLs of replicas over one etcd
cluster: a command moves to the next when one is down), -token TOKEN or
-token-file FILE (default $VKV_TOKEN); over https://, -cacert FILE and -cert FILE
-key FILE (default $VKV_CACERT, $VKV_CERT, $VKV_KEY).
They print values raw and everything else as plain text; -o json prints JSON,
one object per line. Flags may come before or after the arguments; "--" ends
the flags (for a key or value that starts with "-").

Exit status: 0 success, 1 error, 2 usage, 3 conflict or failed precondition
(the server's problem is printed to stderr as JSON).`

// exitError ends vkv with code; what there was to say has been printed.
type exitError struct{ code int }

// Error describes the exit.
func (e *exitError) Error() string { return "exit status " + strconv.Itoa(e.code) }

// cliEnv is what the commands read beside their arguments: stdin and the
// environment. main uses the process's; tests put their own in the context
// with withEnv.
type cliEnv struct {
	stdin  io.Reader
	getenv func(string) string
	// terminal, if set, replaces the check whether stderr is a terminal
	// (terminalWriter), on which vkv backup and vkv restore draw progress.
	terminal func(io.Writer) bool
}

type cliEnvKey struct{}

// withEnv returns ctx carrying env for the commands run with it.
func withEnv(ctx context.Context, env *cliEnv) context.Context {
	return context.WithValue(ctx, cliEnvKey{}, env)
}

// envOf returns the environment of ctx, or the process's.
func envOf(ctx context.Context) *cliEnv {
	if e, ok := ctx.Value(cliEnvKey{}).(*cliEnv); ok {
		return e
	}
	return &cliEnv{stdin: os.Stdin, getenv: os.Getenv}
}

// isTerminal reports whether v is a terminal (a character device).
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// spec describes a command for its usage text.
type spec struct {
	name    string // after "vkv "
	args    string // the arguments after [flags]
	doc     string // what it does, a few lines
	example string // one command line
}

// cmdFlags is the flag set of a command and what its usage says.
type cmdFlags struct {
	*flag.FlagSet
	sp spec
}

// newFlags returns the flag set of the command sp. Its Usage, which -h
// shows (and the flag package after a bad flag), prints sp and the flags.
func newFlags(sp spec, stderr io.Writer) *cmdFlags {
	fs := &cmdFlags{FlagSet: flag.NewFlagSet("vkv "+sp.name, flag.ContinueOnError), sp: sp}
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n%s\n\nExample:\n\t%s\n\nFlags:\n", fs.synopsis(), sp.doc, sp.example)
		fs.PrintDefaults()
	}
	return fs
}

// synopsis is the command line of the command.
func (fs *cmdFlags) synopsis() string {
	return strings.TrimSpace("vkv " + fs.sp.name + " [flags] " + fs.sp.args)
}

// parseFlags parses args with fs. -h prints fs.Usage (the full usage) and
// gives flag.ErrHelp; a wrong flag prints nothing and gives the flag
// package's error, so that the caller prints it after the command's name,
// with the short usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
	}
	return err
}

// usageError prints what is wrong and the short usage, and returns
// errUsage.
func (fs *cmdFlags) usageError(format string, args ...any) error {
	w := fs.Output()
	fmt.Fprintf(w, "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fmt.Fprintf(w, "Usage: %s\nRun \"vkv help %s\" for the flags and an example.\n", fs.synopsis(), fs.sp.name)
	return errUsage
}

// parse parses args, flags and arguments in any order ("--" ends the
// flags), and checks that between min and max arguments remain (max < 0:
// any number). It returns the arguments, or errUsage / flag.ErrHelp once
// the problem or the help has been printed.
func (fs *cmdFlags) parse(args []string, min, max int) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs.FlagSet, args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fs.usageError("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(pos) < min:
		return nil, fs.usageError("missing arguments")
	case max >= 0 && len(pos) > max:
		return nil, fs.usageError("too many arguments: %q", pos[max:])
	}
	return pos, nil
}

// versionFlag is a -version flag: a decimal version, and whether it was set.
type versionFlag struct {
	v   vkv.Version
	set bool
}

// String formats the version.
func (f *versionFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return f.v.String()
}

// Set parses a decimal version.
func (f *versionFlag) Set(s string) error {
	v, err := vkv.ParseVersion(s)
	if err != nil {
		return errors.New("not a decimal version")
	}
	f.v, f.set = v, true
	return nil
}

// ttlFlag is a -ttl flag: a Go duration ("30s", "1h") or a whole number of
// seconds, as the HTTP API takes it.
type ttlFlag time.Duration

// String formats the TTL.
func (f *ttlFlag) String() string {
	if f == nil || *f == 0 {
		return ""
	}
	return time.Duration(*f).String()
}

// Set parses a TTL.
func (f *ttlFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseUint(s, 10, 32)
		if nerr != nil {
			return errors.New("want a duration such as 30s or 1h, or a number of seconds")
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	*f = ttlFlag(d)
	return nil
}

// opts returns the write options of the TTL.
func (f ttlFlag) opts() []vkv.WriteOption {
	if f == 0 {
		return nil
	}
	return []vkv.WriteOption{vkv.WithTTL(time.Duration(f))}
}

// clientFlags are the flags every client command takes.
type clientFlags struct {
	endpoint  string
	token     string
	tokenFile string
	output    string // "raw" or "json"; "" for commands without -o
	tls       clientTLSFlags
}

// register adds the flags to fs; output adds -o.
func (cf *clientFlags) register(fs *cmdFlags, output bool) {
	fs.StringVar(&cf.endpoint, "endpoint", "", "server `URL`, or several comma-separated (replicas) (default $"+envEndpoint+", else "+defaultEndpoint+")")
	fs.StringVar(&cf.token, "token", "", "bearer `token` for a server started with -token-file (default $"+envToken+"; visible to other users in ps, prefer -token-file)")
	fs.StringVar(&cf.tokenFile, "token-file", "", "`file` holding the bearer token")
	cf.tls.register(fs)
	if output {
		cf.output = "raw"
		fs.StringVar(&cf.output, "o", "raw", "output `format`: raw or json")
	}
}

// json reports whether -o json was given.
func (cf *clientFlags) json() bool { return cf.output == "json" }

// session is a connection to the server for one command.
type session struct {
	c       *vkvclient.Client
	tr      *http.Transport
	capture *problemCapture
}

// close releases the client and its connections.
func (s *session) close() {
	s.c.Close()
	s.tr.CloseIdleConnections()
}

// connect checks the client flags (bad ones are usage errors) and returns a
// session with the server.
func (cf *clientFlags) connect(ctx context.Context, fs *cmdFlags) (*session, error) {
	env := envOf(ctx)
	if cf.output != "" && cf.output != "raw" && cf.output != "json" {
		return nil, fs.usageError("-o %s: want raw or json", cf.output)
	}
	endpoint := cf.endpoint
	if endpoint == "" {
		endpoint = env.getenv(envEndpoint)
	}
	if endpoint == "" {
		endpoint = defaultEndpoint
	}
	token := cf.token
	switch {
	case cf.token != "" && cf.tokenFile != "":
		return nil, fs.usageError("give -token or -token-file, not both")
	case cf.tokenFile != "":
		b, err := os.ReadFile(cf.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading the token: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return nil, fmt.Errorf("token file %s is empty", cf.tokenFile)
		}
	case token == "":
		token = strings.TrimSpace(env.getenv(envToken))
	}
	tlsCfg, err := cf.tls.config(env)
	if err != nil {
		return nil, fs.usageError("%v", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if tlsCfg != nil {
		tr.TLSClientConfig = tlsCfg
	}
	capture := &problemCapture{base: tr}
	hc := &http.Client{Transport: capture, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // the API never redirects
	}}
	c, err := vkvclient.New(endpoint, vkvclient.WithToken(token), vkvclient.WithHTTPClient(hc), vkvclient.WithTLSConfig(tlsCfg))
	if err != nil {
		return nil, fs.usageError("%v", err)
	}
	return &session{c: c, tr: tr, capture: capture}, nil
}

// problemCapture keeps the body of the last problem the server sent, so
// that a conflict can be printed as the server wrote it.
type problemCapture struct {
	base http.RoundTripper
	mu   sync.Mutex
	last []byte
}

// RoundTrip sends req and records the body of a problem response.
func (p *problemCapture) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/problem+json" {
		return resp, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	p.mu.Lock()
	p.last = body
	p.mu.Unlock()
	return resp, nil
}

// problem returns the last problem received, or nil.
func (p *problemCapture) problem() (*wire.Problem, []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pr wire.Problem
	if p.last == nil || json.Unmarshal(p.last, &pr) != nil || pr.Type == "" {
		return nil, nil
	}
	return &pr, p.last
}

// fail turns the error of a request into what the command returns: a
// conflict or failed precondition prints the server's problem to stderr and
// exits 3; a problem the server sent becomes its name and detail; other
// errors are returned as they are (exit 1).
func (s *session) fail(ctx context.Context, err error, stderr io.Writer) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return errors.New("interrupted")
	}
	p, raw := s.capture.problem()
	var pe *vkvclient.ProblemError
	conflict := errors.Is(err, vkv.ErrConflict) ||
		(errors.As(err, &pe) && pe.StatusCode == http.StatusPreconditionFailed)
	if conflict {
		if raw == nil {
			// Not from the server (it never happens with vkvclient): build
			// the problem from the error.
			raw, _ = json.Marshal(conflictProblem(err))
		}
		stderr.Write(bytes.TrimSpace(raw))
		fmt.Fprintln(stderr)
		return &exitError{code: exitConflict}
	}
	if p != nil {
		msg := p.Name() + ": " + p.Detail
		if p.Name() == "unauthorized" {
			msg += " (give -token, -token-file or $" + envToken + ")"
		}
		return errors.New(msg)
	}
	return tlsHint(err)
}

// conflictProblem describes a conflict error as a problem.
func conflictProblem(err error) *wire.Problem {
	p := &wire.Problem{Type: wire.ProblemTypeBase + "conflict", Title: "Version conflict",
		Status: http.StatusConflict, Detail: err.Error()}
	var ce *vkv.ConflictError
	if errors.As(err, &ce) {
		p.Key, p.ExpectedVersion, p.CurrentVersion = &ce.Key, &ce.Expected, &ce.Actual
	}
	return p
}

// entryJSON is an entry as -o json prints it, one per line: the members of
// the HTTP API's items (value in base64, keyBase64 for keys that are not
// UTF-8), with deleted for the tombstones of history and watch.
type entryJSON struct {
	Key           string      `json:"key"`
	KeyBase64     []byte      `json:"keyBase64,omitempty"`
	Version       vkv.Version `json:"version"`
	CreateVersion vkv.Version `json:"createVersion,omitempty"`
	Value         []byte      `json:"value"`
	Deleted       bool        `json:"deleted,omitempty"`
	ExpiresAt     *time.Time  `json:"expiresAt,omitempty"`
}

// entryOf returns the JSON form of e.
func entryOf(e *vkv.Entry) entryJSON {
	j := entryJSON{Key: e.Key, KeyBase64: wire.KeyBytes(e.Key), Version: e.Version,
		CreateVersion: e.CreateVersion, Value: e.Value, Deleted: e.Deleted}
	if !e.Deleted && j.Value == nil {
		j.Value = []byte{}
	}
	if e.Deleted {
		j.Value = nil
	}
	if !e.ExpiresAt.IsZero() {
		t := e.ExpiresAt.UTC()
		j.ExpiresAt = &t
	}
	return j
}

// printJSON writes v as one line of JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// readAllLimited reads r up to maxStdinValue bytes.
func readAllLimited(r io.Reader, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxStdinValue+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if len(b) > maxStdinValue {
		return nil, fmt.Errorf("%s is larger than %d bytes", what, maxStdinValue)
	}
	return b, nil
}
