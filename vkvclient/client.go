package vkvclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// expectContinueOver is the body size above which a request asks the server
// with Expect: 100-continue before sending the body, so that a body over the
// server's limit is refused without being transferred.
const expectContinueOver = 256 << 10

// Client is a vkv.KV served by a vkv server over HTTP. It is safe for
// concurrent use.
type Client struct {
	// endpoints are the servers (replicas of one store), without trailing
	// slashes, in the order given; current is the index of the one
	// requests go to first. A request that finds its server down moves
	// current on (compare-and-swap, so concurrent failures move it once).
	endpoints []string
	current   atomic.Int32
	hc        *http.Client
	transport *http.Transport // ours, closed by Close; nil with WithHTTPClient
	tlsConfig *tls.Config     // from WithTLSConfig, for probeTLS; nil if none
	token     string
	attempts  int
	closed    atomic.Bool
	watchIdle time.Duration    // see WithWatchIdleTimeout
	watches   watchSet         // watches in progress, ended by Close
	now       func() time.Time // see WithClock

	learnSem chan struct{}           // held while the limits are fetched
	learnt   atomic.Pointer[learned] // nil until the limits are known

	// noPinnedRead is set when the server refused GET ?version=latest (it
	// predates it): transactions then pin their snapshot with /healthz.
	noPinnedRead atomic.Bool
}

// learned is what the client learns from its server on first use: the
// server's limits, and the transaction engine that checks them.
type learned struct {
	limits vkv.Limits
	txns   *vkv.TxnEngine // runs Update and View
}

var _ vkv.KV = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithToken sends "Authorization: Bearer <token>" with every request.
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// WithHTTPClient makes the Client send its requests with hc instead of its
// own tuned client. Close then leaves hc's connections alone.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc, c.transport = hc, nil
		}
	}
}

// WithMaxAttempts sets how often Update runs its function when keys it read
// keep changing; n <= 0 keeps the default, 64.
func WithMaxAttempts(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.attempts = n
		}
	}
}

// WithClock sets the clock the client judges expiry by where it must do so
// itself: Txn.Get of a key read at the transaction's pinned version treats
// the key as absent once clock reaches its ExpiresAt, and gives a key the
// transaction wrote with a TTL an ExpiresAt of clock's time plus the TTL. It
// should agree with the server's clock; give it the same fake clock as the
// server's store in tests. Default (and with a nil c): the system clock.
func WithClock(c vkv.Clock) Option {
	return func(cl *Client) {
		if c != nil {
			cl.now = c.Now
		}
	}
}

// New returns a Client for the server at endpoint, such as
// "http://127.0.0.1:8080". It does not contact the server.
//
// endpoint may list several servers separated by commas, such as
// "http://10.0.0.1:8080,http://10.0.0.2:8080": replicas of one store (vkv
// serve -etcd processes over one etcd cluster). Requests go to one of them;
// when it is down, the client moves to the next, retrying on its own only
// what is safe: a read, a watch (resumed from the last version it
// delivered), and a write that certainly did not reach the server (the
// connection could not be made) or that the server refused without doing
// it (503 backend-unavailable). A write whose answer was lost after it was
// sent returns an error matching vkv.ErrOutcomeUnknown and is never sent
// again.
func New(endpoint string, opts ...Option) (*Client, error) {
	var endpoints []string
	for e := range strings.SplitSeq(endpoint, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		base, err := parseEndpoint(e)
		if err != nil {
			return nil, err
		}
		endpoints = append(endpoints, base)
	}
	if len(endpoints) == 0 {
		return nil, errors.New("vkvclient: no endpoint: give the server's URL, such as http://127.0.0.1:8080")
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	c := &Client{
		endpoints: endpoints,
		hc: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			// The API never redirects; a redirect would turn a PUT into a GET.
			return http.ErrUseLastResponse
		}},
		transport: tr,
		attempts:  64,

		watchIdle: DefaultWatchIdleTimeout,
		now:       time.Now,
		learnSem:  make(chan struct{}, 1),
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c, nil
}

// Limits returns the server's limits, from GET /v1/limits: fetched by the
// first call that needs them (this one, or any call that sends a key) and
// kept for the life of the Client. The client checks every key, value, TTL
// and transaction with them (vkv.Limits' methods) before it sends a request,
// so that it refuses what the server would refuse, without a round trip,
// with the errors of the embedded store (*vkv.KeyError, *vkv.LimitError).
// A server from before GET /v1/limits (404) gives the zero Limits: no limit
// is known, and the server's own answers give the same errors.
func (c *Client) Limits(ctx context.Context) (vkv.Limits, error) {
	l, err := c.learn(ctx)
	if err != nil {
		return vkv.Limits{}, err
	}
	return l.limits, nil
}

// learn returns what the client knows of its server, fetching the limits
// once. A failed fetch is not kept: the next call tries again.
func (c *Client) learn(ctx context.Context) (*learned, error) {
	if l := c.learnt.Load(); l != nil {
		return l, nil
	}
	select {
	case c.learnSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.learnSem }()
	if l := c.learnt.Load(); l != nil {
		return l, nil
	}
	lim, err := c.fetchLimits(ctx)
	if err != nil {
		return nil, err
	}
	l := &learned{limits: lim, txns: vkv.NewTxnEngine(clientBackend{c}, vkv.TxnEngineOptions{
		Limits:      lim,
		MaxAttempts: c.attempts,
	})}
	c.learnt.Store(l)
	return l, nil
}

// fetchLimits asks the server for its limits.
func (c *Client) fetchLimits(ctx context.Context) (vkv.Limits, error) {
	resp, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/limits", kind: opRead})
	if pe := (*ProblemError)(nil); errors.As(err, &pe) && pe.StatusCode == http.StatusNotFound {
		return vkv.Limits{}, nil // a server from before GET /v1/limits
	}
	if err != nil {
		return vkv.Limits{}, err
	}
	defer resp.Body.Close()
	var res wire.Limits
	if err := decodeJSON(resp, &res); err != nil {
		return vkv.Limits{}, err
	}
	return res.Limits(), nil
}

// Endpoint returns the server's base URL, as given to New (without a
// trailing slash).
func (c *Client) Endpoint() string { return c.endpoints[c.current.Load()] }

// Endpoints returns every server the Client was given, in order.
func (c *Client) Endpoints() []string { return append([]string(nil), c.endpoints...) }

// parseEndpoint checks one endpoint and returns it without a trailing slash.
func parseEndpoint(e string) (string, error) {
	if !strings.Contains(e, "://") {
		return "", fmt.Errorf("vkvclient: endpoint %q has no scheme: write http://%s (or https://%s)", e, e, e)
	}
	u, err := url.Parse(e)
	if err != nil {
		return "", fmt.Errorf("vkvclient: endpoint %q: %w", e, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("vkvclient: endpoint %q: want http://host:port or https://host:port", e)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("vkvclient: endpoint %q has a query or fragment", e)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// moveOn makes the endpoint after from the first one tried, unless another
// request has moved on already.
func (c *Client) moveOn(from int) {
	if len(c.endpoints) > 1 {
		c.current.CompareAndSwap(int32(from), int32((from+1)%len(c.endpoints)))
	}
}

// Close releases the Client's idle connections and ends its watches in
// progress with vkv.ErrClosed. Later calls return vkv.ErrClosed. Close is
// idempotent and always returns nil.
func (c *Client) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.watches.closeAll()
		if c.transport != nil {
			c.transport.CloseIdleConnections()
		}
	}
	return nil
}

// call describes one request.
type call struct {
	method  string
	path    string // escaped path below the endpoint
	query   url.Values
	body    []byte
	ctype   string
	prefer  bool // send Prefer: return=representation
	kind    opKind
	key     string       // the key of the call, for errors
	version vkv.Version  // the version asked for (GetAt), for errors
	header  *http.Header // if not nil, set to the response's header, error responses included
}

// opKind tells error mapping what the request was.
type opKind int

const (
	opRead opKind = iota
	opWrite
	opTxn
)

// do sends cl and returns the response, whose body the caller closes, for a
// 2xx or 304 status; any other status is turned into an error.
func (c *Client) do(ctx context.Context, cl call) (*http.Response, error) {
	if c.closed.Load() {
		return nil, vkv.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	first := int(c.current.Load())
	var lastErr error
	for i := range len(c.endpoints) {
		idx := (first + i) % len(c.endpoints)
		resp, next, err := c.send(ctx, cl, idx)
		if !next {
			return resp, err
		}
		lastErr = err
		c.moveOn(idx)
	}
	return nil, lastErr
}

// send sends cl to endpoint number idx. next reports that the request
// certainly did not take effect there and may go to another endpoint: the
// connection could not be made, a read failed, or the server said its
// backend is unavailable.
func (c *Client) send(ctx context.Context, cl call, idx int) (resp *http.Response, next bool, err error) {
	base := c.endpoints[idx]
	u := base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return nil, false, fmt.Errorf("vkvclient: %w", err)
	}
	if cl.body != nil {
		req.ContentLength = int64(len(cl.body))
		if len(cl.body) == 0 {
			req.Body = http.NoBody
		}
		if len(cl.body) > expectContinueOver {
			req.Header.Set("Expect", "100-continue")
		}
	}
	if cl.ctype != "" {
		req.Header.Set("Content-Type", cl.ctype)
	}
	if cl.prefer {
		req.Header.Set("Prefer", "return=representation")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err = c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, false, ctxErr
		}
		if !tlsProblem(err) && strings.HasPrefix(base, "https://") && !notSent(err) {
			// HTTP/2 may report a refused client certificate only as a
			// connection it could not establish; ask the server again
			// over a bare TLS connection to learn the real reason.
			if perr := c.probeTLS(ctx, base); perr != nil {
				err = perr
			}
		}
		if tlsProblem(err) {
			// A certificate or handshake problem is the configuration's,
			// not a server down: say it as it is, and do not move on.
			return nil, false, fmt.Errorf("vkvclient: %s %s%s: %w", cl.method, base, cl.path, err)
		}
		return nil, notSent(err) || cl.method == http.MethodGet || cl.method == http.MethodHead, c.transportError(cl, base, err)
	}
	if cl.header != nil {
		*cl.header = resp.Header
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotModified {
		return resp, false, nil
	}
	defer resp.Body.Close()
	err = c.responseError(resp, cl)
	return nil, resp.StatusCode == http.StatusServiceUnavailable && errors.Is(err, vkv.ErrUnavailable), err
}

// tlsProblem reports whether err is a failed TLS verification or handshake.
func tlsProblem(err error) bool {
	var (
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		hn x509.HostnameError
		ci x509.CertificateInvalidError
		ra tls.RecordHeaderError
		ae tls.AlertError
		op *net.OpError
	)
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) ||
		errors.As(err, &ra) || errors.As(err, &ae) ||
		// An alert the server sent (crypto/tls: conn.go, readRecordOrCCS).
		errors.As(err, &op) && op.Op == "remote error"
}

// probeTimeout bounds how long probeTLS waits for a server to refuse the
// client after the handshake.
const probeTimeout = 500 * time.Millisecond

// probeTLS opens a bare TLS connection to base with the client's TLS
// configuration and returns the TLS error it meets, or nil if there is
// none. With TLS 1.3 a server checks the client's certificate after the
// client has finished its side of the handshake, so a refusal arrives as an
// alert on the first read; the HTTP/2 transport reports that only as "client
// conn could not be established".
func (c *Client) probeTLS(ctx context.Context, base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return nil
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if tr, ok := c.hc.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		cfg = tr.TLSClientConfig.Clone()
	}
	if c.tlsConfig != nil {
		cfg = c.tlsConfig.Clone()
	}
	cfg.ServerName = u.Hostname()
	cfg.NextProtos = nil
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", host)
	if err != nil {
		if tlsProblem(err) {
			return err
		}
		return nil
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(probeTimeout))
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil && tlsProblem(err) {
		return err
	}
	return nil
}

// notSent reports whether err says the request never reached a server:
// the connection could not be made.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// transportError is the error of a request to base that got no answer. A
// connection that could not be made says which server to start; a write
// whose connection broke after it was sent matches vkv.ErrOutcomeUnknown.
func (c *Client) transportError(cl call, base string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the method and URL are said below, once
	}
	switch {
	case notSent(err):
		return &noAnswerError{vkv.ErrUnavailable, err, fmt.Sprintf("vkvclient: backend unavailable: cannot connect to %s (%v): is vkv serve running there? Start it with \"vkv serve\", or point -endpoint (VKV_ENDPOINT) at a running server", base, err)}
	case cl.method != http.MethodGet && cl.method != http.MethodHead:
		return &noAnswerError{vkv.ErrOutcomeUnknown, err, fmt.Sprintf("vkvclient: %s %s%s: write outcome unknown: the connection broke after the request was sent (%v), so it may or may not have been applied; read the keys to find out", cl.method, base, cl.path, err)}
	}
	return &noAnswerError{vkv.ErrUnavailable, err, fmt.Sprintf("vkvclient: %s %s%s: backend unavailable: %v", cl.method, base, cl.path, err)}
}

// noAnswerError is the error of a request that got no answer. Its message
// is the client's own (without the sentinel's "vkv:" in the middle of it);
// errors.Is matches the sentinel it stands for (vkv.ErrUnavailable or
// vkv.ErrOutcomeUnknown), and errors.As reaches the transport's error.
type noAnswerError struct {
	kind  error // the vkv sentinel
	cause error // the transport's error
	msg   string
}

func (e *noAnswerError) Error() string   { return e.msg }
func (e *noAnswerError) Unwrap() []error { return []error{e.kind, e.cause} }

// keyPath is the escaped path of key under prefix.
func keyPath(prefix, key string) string {
	return prefix + wire.EscapeKey(key)
}

// checkKey refuses, before it is sent, a key the server would refuse.
func (c *Client) checkKey(ctx context.Context, key string) (vkv.Limits, error) {
	if key == "" {
		// Refused by any limits: no need to learn them.
		return vkv.Limits{}, vkv.Limits{}.CheckKey(key)
	}
	lim, err := c.Limits(ctx)
	if err != nil {
		return vkv.Limits{}, err
	}
	return lim, lim.CheckKey(key)
}

// parseEntryHeaders sets e's CreateVersion and ExpiresAt from the headers
// that carry them, when present.
func parseEntryHeaders(e *vkv.Entry, h http.Header) error {
	var err error
	if s := h.Get(wire.HeaderCreateVersion); s != "" {
		if e.CreateVersion, err = vkv.ParseVersion(s); err != nil {
			return fmt.Errorf("vkvclient: bad %s header: %w", wire.HeaderCreateVersion, err)
		}
	}
	if s := h.Get(wire.HeaderExpiresAt); s != "" {
		if e.ExpiresAt, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("vkvclient: bad %s header: %w", wire.HeaderExpiresAt, err)
		}
	}
	return nil
}

// entryFromResponse builds the entry of key from a GET response.
func entryFromResponse(key string, resp *http.Response) (vkv.Entry, error) {
	e := vkv.Entry{Key: key}
	var err error
	if e.Version, err = vkv.ParseVersion(resp.Header.Get(wire.HeaderVersion)); err != nil {
		return vkv.Entry{}, fmt.Errorf("vkvclient: bad %s header: %w", wire.HeaderVersion, err)
	}
	if err := parseEntryHeaders(&e, resp.Header); err != nil {
		return vkv.Entry{}, err
	}
	if e.Value, err = io.ReadAll(resp.Body); err != nil {
		return vkv.Entry{}, fmt.Errorf("vkvclient: reading the value of %q: %w", key, err)
	}
	return e, nil
}

// Get returns the current entry of key, or vkv.ErrNotFound.
func (c *Client) Get(ctx context.Context, key string) (vkv.Entry, error) {
	return c.get(ctx, key, 0, false)
}

// GetAt returns key as it was at version v.
func (c *Client) GetAt(ctx context.Context, key string, v vkv.Version) (vkv.Entry, error) {
	return c.get(ctx, key, v, true)
}

func (c *Client) get(ctx context.Context, key string, v vkv.Version, at bool) (vkv.Entry, error) {
	if _, err := c.checkKey(ctx, key); err != nil {
		return vkv.Entry{}, err
	}
	cl := call{method: http.MethodGet, path: keyPath("/v1/kv/", key), kind: opRead, key: key, version: v}
	if at {
		cl.query = url.Values{wire.ParamVersion: {v.String()}}
	}
	resp, err := c.do(ctx, cl)
	if err != nil {
		return vkv.Entry{}, err
	}
	defer resp.Body.Close()
	return entryFromResponse(key, resp)
}

// getPinned reads key at the server's newest version V, with GET
// ?version=latest, and returns V and true: the read that pins a
// transaction's snapshot. V comes with a 404 too (vkv.ErrNotFound), so that
// an absent key pins the snapshot as well. The bool is false when the server
// did not report V: its KV cannot tell it, and the read was a plain Get.
func (c *Client) getPinned(ctx context.Context, key string) (vkv.Entry, vkv.Version, bool, error) {
	if _, err := c.checkKey(ctx, key); err != nil {
		return vkv.Entry{}, 0, false, err
	}
	var hd http.Header
	resp, err := c.do(ctx, call{method: http.MethodGet, path: keyPath("/v1/kv/", key), kind: opRead, key: key,
		query: url.Values{wire.ParamVersion: {wire.VersionLatest}}, header: &hd})
	if resp != nil {
		defer resp.Body.Close()
	}
	var (
		pin vkv.Version
		ok  bool
	)
	if s := hd.Get(wire.HeaderStoreVersion); s != "" {
		v, perr := vkv.ParseVersion(s)
		if perr != nil {
			return vkv.Entry{}, 0, false, fmt.Errorf("vkvclient: bad %s header: %w", wire.HeaderStoreVersion, perr)
		}
		pin, ok = v, true
	}
	if err != nil {
		return vkv.Entry{}, pin, ok, err
	}
	e, err := entryFromResponse(key, resp)
	return e, pin, ok, err
}

// decodeJSON decodes the body of resp into v.
func decodeJSON(resp *http.Response, v any) error {
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("vkvclient: decoding the response: %w", err)
	}
	return nil
}

// List returns a page of the entries under prefix after the key after,
// and the version the server read them at.
func (c *Client) List(ctx context.Context, prefix, after string, limit int) (vkv.ListResult, error) {
	return c.list(ctx, prefix, after, limit, 0, false)
}

// ListAt returns a page of the entries under prefix after the key after as
// they were at version v, with GET /v1/kv?version=v.
func (c *Client) ListAt(ctx context.Context, prefix, after string, limit int, v vkv.Version) (vkv.ListResult, error) {
	return c.list(ctx, prefix, after, limit, v, true)
}

func (c *Client) list(ctx context.Context, prefix, after string, limit int, v vkv.Version, at bool) (vkv.ListResult, error) {
	q := url.Values{}
	if prefix != "" {
		q.Set(wire.ParamPrefix, prefix)
	}
	if after != "" {
		q.Set(wire.ParamAfter, after)
	}
	if limit > 0 {
		q.Set(wire.ParamLimit, strconv.Itoa(limit))
	}
	if at {
		q.Set(wire.ParamVersion, v.String())
	}
	resp, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/kv", query: q, kind: opRead, version: v})
	if err != nil {
		var ce *vkv.CompactedError
		if errors.As(err, &ce) {
			ce.Range = &vkv.KeyRange{Prefix: prefix, After: after}
		}
		return vkv.ListResult{}, err
	}
	defer resp.Body.Close()
	var res wire.ListResult
	if err := decodeJSON(resp, &res); err != nil {
		return vkv.ListResult{}, err
	}
	entries := make([]vkv.Entry, len(res.Items))
	for i := range res.Items {
		entries[i] = res.Items[i].Entry()
	}
	return vkv.ListResult{Entries: entries, Next: wire.WireKey(res.Next, res.NextBase64), Version: res.Version}, nil
}

// History returns up to limit kept versions of key, newest first.
func (c *Client) History(ctx context.Context, key string, limit int) ([]vkv.Entry, error) {
	if _, err := c.checkKey(ctx, key); err != nil {
		return nil, err
	}
	var q url.Values
	if limit > 0 {
		q = url.Values{wire.ParamLimit: {strconv.Itoa(limit)}}
	}
	resp, err := c.do(ctx, call{method: http.MethodGet, path: keyPath("/v1/history/", key), query: q, kind: opRead, key: key})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var res wire.HistoryResult
	if err := decodeJSON(resp, &res); err != nil {
		return nil, err
	}
	entries := make([]vkv.Entry, len(res.Versions))
	for i := range res.Versions {
		entries[i] = res.Versions[i].Entry(key)
	}
	return entries, nil
}

// ttlParam checks the TTL of opts, as the store does, and returns it as a
// query value ("" for none).
func ttlParam(opts []vkv.WriteOption) (string, error) {
	if len(opts) == 0 {
		return "", nil
	}
	o := vkv.NewWriteOptions(opts...)
	if err := o.Check(); err != nil {
		return "", err
	}
	switch {
	case o.KeepTTL:
		return wire.TTLKeep, nil
	case o.TTL == 0:
		return "", nil
	}
	return o.TTL.String(), nil
}

// write sends a PUT or DELETE and returns the new version.
func (c *Client) write(ctx context.Context, method, key string, expected *vkv.Version, value []byte, opts []vkv.WriteOption) (vkv.Version, error) {
	lim, err := c.checkKey(ctx, key)
	if err != nil {
		return 0, err
	}
	if method == http.MethodPut {
		if err := lim.CheckValue(key, value); err != nil {
			return 0, err
		}
	}
	q := url.Values{}
	if expected != nil {
		q.Set(wire.ParamVersion, expected.String())
	}
	ttl, err := ttlParam(opts)
	if err != nil {
		return 0, err
	}
	if ttl != "" {
		q.Set(wire.ParamTTL, ttl)
	}
	cl := call{method: method, path: keyPath("/v1/kv/", key), query: q, kind: opWrite, key: key, prefer: expected != nil}
	if method == http.MethodPut {
		cl.body = value
		if cl.body == nil {
			cl.body = []byte{}
		}
		cl.ctype = "application/octet-stream"
	}
	resp, err := c.do(ctx, cl)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var res wire.WriteResult
	if err := decodeJSON(resp, &res); err != nil {
		return 0, err
	}
	if w := vkv.NewWriteOptions(opts...).Written; w != nil && method == http.MethodPut {
		e, err := writtenEntry(key, res.Version, resp)
		if err != nil {
			return 0, err
		}
		*w = e
	}
	return res.Version, nil
}

// writtenEntry builds what vkv.Written reports from a PUT response: the
// entry headers the server sends, or, from an older server, what the status
// says (201: the write created the key).
func writtenEntry(key string, v vkv.Version, resp *http.Response) (vkv.Entry, error) {
	e := vkv.Entry{Key: key, Version: v}
	if resp.Header.Get(wire.HeaderCreateVersion) == "" && resp.StatusCode == http.StatusCreated {
		e.CreateVersion = v
	}
	if err := parseEntryHeaders(&e, resp.Header); err != nil {
		return vkv.Entry{}, err
	}
	return e, nil
}

// Put writes value to key unconditionally.
func (c *Client) Put(ctx context.Context, key string, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	return c.write(ctx, http.MethodPut, key, nil, value, opts)
}

// CompareAndSwap writes value to key if its version is expected (0: absent).
func (c *Client) CompareAndSwap(ctx context.Context, key string, expected vkv.Version, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	return c.write(ctx, http.MethodPut, key, &expected, value, opts)
}

// Delete removes key, or returns vkv.ErrNotFound.
func (c *Client) Delete(ctx context.Context, key string) (vkv.Version, error) {
	return c.write(ctx, http.MethodDelete, key, nil, nil, nil)
}

// CompareAndDelete removes key if its version is expected.
func (c *Client) CompareAndDelete(ctx context.Context, key string, expected vkv.Version) (vkv.Version, error) {
	return c.write(ctx, http.MethodDelete, key, &expected, nil, nil)
}

// storeVersion returns the server's newest version from /healthz; ok is
// false when the server does not tell it.
func (c *Client) storeVersion(ctx context.Context) (v vkv.Version, ok bool, err error) {
	resp, err := c.do(ctx, call{method: http.MethodGet, path: "/healthz", kind: opRead})
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	s := resp.Header.Get(wire.HeaderStoreVersion)
	if s == "" {
		return 0, false, nil
	}
	v, err = vkv.ParseVersion(s)
	if err != nil {
		return 0, false, fmt.Errorf("vkvclient: bad %s header: %w", wire.HeaderStoreVersion, err)
	}
	return v, true, nil
}
