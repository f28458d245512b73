package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

// Settings of GET /v1/watch.
const (
	// WatchWriteTimeout bounds each write of a watch stream. The server's
	// WriteTimeout would end every stream after a minute; the handler
	// replaces it for the watch route with a deadline that it moves forward
	// before each write, so that a client that stops reading is still cut
	// off.
	WatchWriteTimeout = 60 * time.Second
)

// watchFirstWait is how long the handler waits for the first result of a
// watch before it starts the stream: long enough for a from below the kept
// history to be answered with 410 rather than with an error event.
const watchFirstWait = 100 * time.Millisecond

// watchBuffer is how many changes may wait between the KV's watch and the
// connection.
const watchBuffer = 64

// WithHeartbeat sets how often an idle watch stream carries a heartbeat
// comment; d <= 0 keeps the default, wire.DefaultHeartbeat.
func WithHeartbeat(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.heartbeat = d
		}
	}
}

// streams tracks, per *http.Server, whether it is shutting down, so that
// watch streams end when Shutdown starts instead of holding it up until its
// deadline. The zero value is ready to use.
type streams struct {
	mu      sync.Mutex
	servers map[*http.Server]chan struct{}
}

// stopping returns a channel that is closed when the server serving r
// starts to shut down; nil (never closed) when r carries no server.
func (s *streams) stopping(r *http.Request) <-chan struct{} {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.servers[srv]
	if !ok {
		if s.servers == nil {
			s.servers = map[*http.Server]chan struct{}{}
		}
		ch = make(chan struct{})
		s.servers[srv] = ch
		// The channel stays in the map after it is closed: a stream that
		// starts on a server already shutting down ends at once.
		srv.RegisterOnShutdown(func() { close(ch) })
	}
	return ch
}

// watchItem is one result of a KV's watch.
type watchItem struct {
	e   vkv.Entry
	err error
}

// watchParams returns the prefix and the version to watch after: the
// Last-Event-ID header if sent, else the query parameter fromVersion, else
// the KV's newest version.
func (h *handler) watchParams(r *http.Request) (string, vkv.Version, error) {
	q := r.URL.Query()
	if len(q[wire.ParamPrefix]) > 1 {
		return "", 0, badRequest(wire.ProblemInvalidRequest, "the query parameter prefix is given more than once")
	}
	prefix := q.Get(wire.ParamPrefix)
	var (
		from vkv.Version
		err  error
	)
	vals, given := q[wire.ParamFromVersion]
	if given {
		if len(vals) != 1 {
			return "", 0, badRequest(wire.ProblemInvalidVersion, "the query parameter fromVersion is given more than once")
		}
		if from, err = vkv.ParseVersion(vals[0]); err != nil {
			return "", 0, badRequest(wire.ProblemInvalidVersion,
				fmt.Sprintf("the query parameter fromVersion=%q is not a decimal version", vals[0]))
		}
	}
	if ids := r.Header.Values(wire.HeaderLastEventID); len(ids) > 0 && ids[0] != "" {
		if len(ids) > 1 {
			return "", 0, badRequest(wire.ProblemInvalidVersion, "the header Last-Event-ID is given more than once")
		}
		if from, err = vkv.ParseVersion(ids[0]); err != nil {
			return "", 0, badRequest(wire.ProblemInvalidVersion,
				fmt.Sprintf("the header Last-Event-ID: %q is not a decimal version", ids[0]))
		}
		return prefix, from, nil
	}
	if given {
		return prefix, from, nil
	}
	vr, ok := h.kv.(versioner)
	if !ok {
		return "", 0, badRequest(wire.ProblemInvalidRequest, "the query parameter fromVersion is required: this server cannot tell its newest version")
	}
	from, err = vr.CurrentVersion(r.Context())
	return prefix, from, err
}

// maxProgressInterval bounds the progressInterval of a watch: a longer
// one is no use against the heartbeat.
const maxProgressInterval = 24 * time.Hour

// watchProgressOptions returns the progress notifications a watch request
// asks for: progressInterval (a Go duration or whole seconds, above zero,
// at most a day) and progressNow=true (one notification once the stream has
// caught up with the store's version of now).
func watchProgressOptions(r *http.Request) ([]vkv.WatchOption, error) {
	q := r.URL.Query()
	var opts []vkv.WatchOption
	if vals, ok := q[wire.ParamProgressInterval]; ok {
		bad := &requestError{status: http.StatusBadRequest, name: wire.ProblemInvalidRequest,
			detail: fmt.Sprintf("the query parameter %s must be given once, as a Go duration (\"10s\") or a number of seconds above zero and at most %v", wire.ParamProgressInterval, maxProgressInterval)}
		if len(vals) != 1 {
			return nil, bad
		}
		var d time.Duration
		if n, err := strconv.ParseInt(vals[0], 10, 64); err == nil {
			if n > 0 && n <= int64(maxProgressInterval/time.Second) {
				d = time.Duration(n) * time.Second
			}
		} else if d, err = time.ParseDuration(vals[0]); err != nil {
			d = 0
		}
		if d <= 0 || d > maxProgressInterval {
			return nil, bad
		}
		opts = append(opts, vkv.WithProgressNotify(d))
	}
	if vals, ok := q[wire.ParamProgressNow]; ok {
		if len(vals) != 1 || (vals[0] != "true" && vals[0] != "false") {
			return nil, &requestError{status: http.StatusBadRequest, name: wire.ProblemInvalidRequest,
				detail: fmt.Sprintf("the query parameter %s must be given once, as true or false", wire.ParamProgressNow)}
		}
		if vals[0] == "true" {
			now := make(chan struct{}, 1)
			now <- struct{}{}
			opts = append(opts, vkv.WithProgressRequests(now))
		}
	}
	return opts, nil
}

// watch serves GET /v1/watch?prefix=P&fromVersion=N as Server-Sent Events.
// See docs/http.md for the stream's format.
func (h *handler) watch(w http.ResponseWriter, r *http.Request) {
	wt, isWatcher := h.kv.(vkv.Watcher)
	if !isWatcher {
		writeProblem(w, r, &wire.Problem{Type: wire.ProblemTypeBase + wire.ProblemNotImplemented, Title: "Not implemented",
			Status: http.StatusNotImplemented, Detail: "this server's store offers no change feed"})
		return
	}
	// The channel first, then the check (with the credentials
	// authenticated again): a change in between is not missed.
	changed := h.changes()
	need := Need{Access: Read, Key: r.URL.Query().Get(wire.ParamPrefix), Prefix: true}
	if p, reason := h.recheck(r, need); p != nil {
		if sw, ok := w.(*statusWriter); ok {
			sw.denied = reason
		}
		if p.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		writeProblem(w, r, p)
		return
	}
	prefix, from, err := h.watchParams(r)
	if err != nil {
		h.writeError(w, r, err, errInfo{})
		return
	}
	opts, err := watchProgressOptions(r)
	if err != nil {
		h.writeError(w, r, err, errInfo{})
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", wire.EventStreamContentType)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	items := make(chan watchItem, watchBuffer)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(items)
		defer func() {
			// A KV's Watch that panics must not take the server down.
			if v := recover(); v != nil {
				select {
				case items <- watchItem{err: fmt.Errorf("watch panicked: %v", v)}:
				case <-ctx.Done():
				}
			}
		}()
		for e, err := range wt.Watch(ctx, prefix, from, opts...) {
			select {
			case items <- watchItem{e, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-done
	}()

	stop := h.watches.stopping(r)
	var (
		first watchItem
		ok    bool // first holds the first result
		open  = true
	)
	wait := time.NewTimer(watchFirstWait)
	select {
	case first, open = <-items:
		ok = open
	case <-wait.C:
	case <-stop:
	case <-ctx.Done():
		return
	}
	wait.Stop()
	if ok && first.err != nil {
		if ctx.Err() == nil {
			writeProblem(w, r, h.watchProblem(r, first.err))
		}
		return
	}

	sw := &sseWriter{w: w, rc: http.NewResponseController(w)}
	// The server's WriteTimeout is meant for responses that end: move the
	// write deadline forward with every write instead. (Its ReadTimeout
	// does not matter: net/http clears the read deadline once a request
	// without a body has been read.)
	sw.extend()
	w.WriteHeader(http.StatusOK)
	switch {
	case !open:
		return
	case ok:
		sw.event(&first.e)
	}
	if sw.flush() != nil {
		return
	}

	hb := h.cfg.heartbeat
	if hb <= 0 {
		hb = wire.DefaultHeartbeat
	}
	ticker := time.NewTicker(hb)
	defer ticker.Stop()
	for {
		select {
		case it, open := <-items:
			if !open {
				return
			}
			if it.err != nil {
				if ctx.Err() == nil {
					sw.problem(h.watchProblem(r, it.err), r)
					sw.flush()
				}
				return
			}
			sw.event(&it.e)
			// Flush once no other change is waiting: at once when live,
			// in batches during a replay.
			if len(items) == 0 && sw.flush() != nil {
				return
			}
		case <-ticker.C:
			if sw.wrote {
				sw.wrote = false
				continue
			}
			sw.buf = append(sw.buf, ": heartbeat\n\n"...)
			if sw.flush() != nil {
				return
			}
			sw.wrote = false
		case <-changed:
			// The Authorizer changed (a reload): the stream goes on only
			// while its principal keeps the grant.
			changed = h.changes()
			if p, _ := h.recheck(r, need); p != nil {
				sw.problem(p, r)
				sw.flush()
				return
			}
		case <-stop:
			p, _ := problemFor(vkv.ErrClosed, errInfo{})
			p.Detail, p.Code = "the server is shutting down; reconnect with Last-Event-ID to resume", wire.CodeShutdown
			sw.problem(p, r)
			sw.flush()
			return
		case <-ctx.Done():
			return
		}
	}
}

// watchProblem is the problem for an error of a watch, logged when it is
// internal. A compacted change log names no key, so the problem has none.
func (h *handler) watchProblem(r *http.Request, err error) *wire.Problem {
	p, internal := problemFor(err, errInfo{})
	if internal {
		id := requestID(r.Context())
		p.RequestID = id
		h.cfg.logger.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("request_id", id), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	if p.Key != nil && *p.Key == "" {
		p.Key, p.KeyBase64 = nil, nil
	}
	return p
}

// sseWriter buffers the events of a watch stream and writes them out.
type sseWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	buf      []byte
	deadline time.Time // the write deadline last set
	wrote    bool      // an event was written since the last heartbeat tick
}

// event appends the event for the change or progress notification e.
func (s *sseWriter) event(e *vkv.Entry) {
	if e.Progress {
		s.buf = append(s.buf, "id: "...)
		s.buf = strconv.AppendUint(s.buf, uint64(e.Version), 10)
		s.buf = append(s.buf, "\nevent: "+wire.EventProgress+"\ndata: "...)
		data, _ := json.Marshal(wire.ProgressEvent{Version: e.Version})
		s.buf = append(s.buf, data...)
		s.buf = append(s.buf, "\n\n"...)
		s.wrote = true
		return
	}
	name := wire.EventPut
	if e.Deleted {
		name = wire.EventDelete
	}
	ev := wire.WatchEventOf(e)
	data, err := json.Marshal(ev)
	if err != nil {
		// Only an expiry time outside the years 0 to 9999 fails to
		// marshal; the event goes out without it.
		ev.ExpiresAt = nil
		data, _ = json.Marshal(ev)
	}
	// Only the last change of a version carries the id: an EventSource
	// keeps the last id it saw and resumes after it, so an id on an
	// earlier change of a transaction would make a reconnection in the
	// middle of the transaction skip its other changes. Without the id the
	// stream resumes from the version before, and the transaction comes
	// again whole.
	if e.TxnEnd {
		s.buf = append(s.buf, "id: "...)
		s.buf = strconv.AppendUint(s.buf, uint64(e.Version), 10)
		s.buf = append(s.buf, '\n')
	}
	s.buf = append(s.buf, "event: "...)
	s.buf = append(s.buf, name...)
	s.buf = append(s.buf, "\ndata: "...)
	s.buf = append(s.buf, data...)
	s.buf = append(s.buf, "\n\n"...)
	s.wrote = true
	if len(s.buf) >= 32<<10 {
		s.flush()
	}
}

// problem appends an error event carrying p.
func (s *sseWriter) problem(p *wire.Problem, r *http.Request) {
	p.Instance = instance(r)
	data, err := marshalProblem(p)
	if err != nil {
		data = []byte(`{"type":"` + wire.ProblemTypeBase + wire.ProblemInternal + `","title":"Internal server error","status":500}`)
	}
	s.buf = append(s.buf, "event: "+wire.EventError+"\ndata: "...)
	s.buf = append(s.buf, data...)
	s.buf = append(s.buf, "\n\n"...)
}

// extend moves the write deadline WatchWriteTimeout ahead, when half of it
// has passed.
func (s *sseWriter) extend() {
	now := time.Now()
	if s.deadline.Sub(now) > WatchWriteTimeout/2 {
		return
	}
	s.deadline = now.Add(WatchWriteTimeout)
	s.rc.SetWriteDeadline(s.deadline) // not supported by every writer (recorders); then there is none
}

// flush writes the buffered events and flushes them to the client.
func (s *sseWriter) flush() error {
	s.extend()
	if len(s.buf) > 0 {
		_, err := s.w.Write(s.buf)
		s.buf = s.buf[:0]
		if err != nil {
			return err
		}
	}
	return s.rc.Flush()
}
