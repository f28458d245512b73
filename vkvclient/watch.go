package vkvclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/wire"
)

var _ vkv.Watcher = (*Client)(nil)

// DefaultWatchIdleTimeout is how long a watch stream may carry nothing, not
// even a heartbeat, before the client takes the connection for dead and
// reconnects: three of the server's default heartbeats.
const DefaultWatchIdleTimeout = 3 * wire.DefaultHeartbeat

// Reconnection delays of Watch: the first retry waits watchBackoffMin, each
// further one twice as long, up to watchBackoffMax.
const (
	watchBackoffMin = 25 * time.Millisecond
	watchBackoffMax = 2 * time.Second
)

// maxEventSize bounds one line of a watch stream: an event carries a value
// (at most a few MiB in base64) and a key.
const maxEventSize = 16 << 20

// WithWatchIdleTimeout sets how long a watch stream may stay silent (no
// event and no heartbeat) before Watch drops the connection and resumes on
// a new one. Set it above the server's heartbeat interval. d <= 0 keeps the
// default, DefaultWatchIdleTimeout.
func WithWatchIdleTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.watchIdle = d
		}
	}
}

// Watch returns every change to keys under prefix with a version above
// from, as vkv.Watcher promises, read from the server's GET /v1/watch
// stream.
//
// The stream is resumed transparently: when the connection drops, the
// server restarts or shuts down, or the stream stays silent longer than the
// idle timeout (WithWatchIdleTimeout), Watch reconnects, with a growing
// delay between attempts (25 ms up to 2 s, while ctx allows), and goes on
// where it stopped, without a gap and without a duplicate. Since the events
// of one transaction share a version, Watch resumes after the last version
// of which it has seen events minus one, with Last-Event-ID, and skips the
// events of that last version it already delivered; the server sends the
// events of a version in the same order every time. Should the changes of
// that version have been compacted in the meantime, Watch cannot tell
// whether it missed events and ends with the *vkv.CompactedError.
//
// Transaction ends and progress notifications (see vkv.Watcher) come from
// the server: WithProgressNotify(d) asks it for a progress event every d of
// its store's clock (the query parameter progressInterval). A one-way event
// stream cannot carry a request to the server, so WithProgressRequests is
// answered by reconnecting at once, from where the stream got to, with the
// query parameter progressNow, which makes the server send one progress
// event once the new stream has caught up with its store's version; a
// request thus costs a new request to the server. A progress event also
// lets a later reconnection resume from its version exactly.
//
// The sequence ends with ctx's error when ctx is done, with vkv.ErrClosed
// when the Client is closed, with a *vkv.CompactedError when the server no
// longer keeps the changes after the point reached (its Oldest is the
// server's oldest kept version, as on the embedded store), and with the error for
// any other answer that retrying cannot change (a wrong token, a server
// whose store has no change feed: a *ProblemError matching
// errors.ErrUnsupported). An error is the last value of the sequence.
func (c *Client) Watch(ctx context.Context, prefix string, from vkv.Version, opts ...vkv.WatchOption) iter.Seq2[vkv.Entry, error] {
	o := vkv.NewWatchOptions(opts...)
	return func(yield func(vkv.Entry, error) bool) {
		wctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		id := c.watches.add(cancel)
		defer c.watches.remove(id)
		if c.closed.Load() {
			yield(vkv.Entry{}, vkv.ErrClosed)
			return
		}
		w := &watchRun{c: c, prefix: prefix, from: from, last: from, yield: yield, every: o.ProgressEvery}
		if reqs := o.ProgressRequests; reqs != nil {
			w.ask = make(chan struct{}, 1)
			go func() {
				for {
					select {
					case _, ok := <-reqs:
						if !ok {
							return
						}
						select {
						case w.ask <- struct{}{}:
						default:
						}
					case <-wctx.Done():
						return
					}
				}
			}()
		}
		delay := time.Duration(0)
		for {
			progressed, err := w.connect(wctx)
			if w.stopped {
				return
			}
			if err == nil {
				// Only retryable failures come back without an error;
				// anything else ended the sequence.
				if progressed || w.asked {
					// The connection delivered changes before it
					// dropped: reconnect at once.
					delay = 0
					continue
				}
				delay = nextDelay(delay)
				t := time.NewTimer(delay)
				select {
				case <-t.C:
					continue
				case <-wctx.Done():
					t.Stop()
				}
			}
			if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				switch {
				case ctx.Err() != nil:
					err = ctx.Err()
				case errors.Is(context.Cause(wctx), vkv.ErrClosed):
					err = vkv.ErrClosed
				case err == nil:
					err = context.Cause(wctx)
				}
			}
			yield(vkv.Entry{}, err)
			return
		}
	}
}

// nextDelay returns the delay before the next reconnection after one of d:
// doubled within the bounds, with up to a quarter of jitter.
func nextDelay(d time.Duration) time.Duration {
	d = min(max(2*d, watchBackoffMin), watchBackoffMax)
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

// watchRun is the state of one call of Watch across its connections.
type watchRun struct {
	c       *Client
	prefix  string
	from    vkv.Version
	yield   func(vkv.Entry, error) bool
	stopped bool // yield returned false

	// last is the version of the last change or progress notification
	// delivered (from before the first) and n how many changes of version
	// last were delivered, 0 once the last of them (TxnEnd) was.
	last vkv.Version
	n    int

	// every is the progressInterval asked of the server (0: none). ask
	// receives the progress requests of WithProgressRequests (nil without
	// it); owed is set from a request until a progress event is delivered,
	// asked when the last connection ended to answer a request.
	every time.Duration
	ask   chan struct{}
	owed  atomic.Bool
	asked bool
}

// connect makes one connection and delivers its changes. It returns a nil
// error when the connection failed or ended in a way worth retrying, and
// progressed when it delivered changes.
func (w *watchRun) connect(ctx context.Context) (progressed bool, err error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Resume from before the last version if some of its changes were
	// delivered: the rest of that version may not have been.
	resume, skip := w.last, 0
	if w.n > 0 {
		resume, skip = w.last-1, w.n
	}
	q := url.Values{wire.ParamFromVersion: {w.from.String()}}
	if w.prefix != "" {
		q.Set(wire.ParamPrefix, w.prefix)
	}
	if w.every > 0 {
		q.Set(wire.ParamProgressInterval, w.every.String())
	}
	w.asked = false
	if w.ask != nil {
		select {
		case <-w.ask:
			w.owed.Store(true)
		default:
		}
		// A request while this connection is open ends it: the next one
		// asks for the progress.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-w.ask:
				w.owed.Store(true)
				cancel()
			case <-stop:
			case <-cctx.Done():
			}
		}()
		if w.owed.Load() {
			q.Set(wire.ParamProgressNow, "true")
		}
	}
	idx := int(w.c.current.Load())
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, w.c.endpoints[idx]+"/v1/watch?"+q.Encode(), nil)
	if err != nil {
		return false, fmt.Errorf("vkvclient: %w", err)
	}
	req.Header.Set("Accept", wire.EventStreamContentType)
	if resume != w.from {
		req.Header.Set(wire.HeaderLastEventID, resume.String())
	}
	if w.c.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.c.token)
	}
	idle := time.AfterFunc(w.c.watchIdle, cancel)
	defer idle.Stop()
	resp, err := w.c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		w.c.moveOn(idx)
		return false, nil // the server is down or unreachable: retry, on the next one if there are several
	}
	defer resp.Body.Close()
	cl := call{method: http.MethodGet, path: "/v1/watch", kind: opRead, version: resume}
	if resp.StatusCode != http.StatusOK {
		err := w.c.responseError(resp, cl)
		var pe *ProblemError
		switch {
		case resp.StatusCode == http.StatusNotImplemented && errors.As(err, &pe):
			pe.Err = errors.ErrUnsupported
			return false, pe
		case resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusBadGateway,
			resp.StatusCode == http.StatusGatewayTimeout, resp.StatusCode == http.StatusTooManyRequests:
			w.c.moveOn(idx)
			return false, nil
		}
		return false, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != wire.EventStreamContentType {
		return false, &ProblemError{StatusCode: resp.StatusCode, Problem: wire.Problem{Status: resp.StatusCode,
			Title: "Not an event stream", Detail: fmt.Sprintf("GET /v1/watch answered with Content-Type %q", resp.Header.Get("Content-Type"))}}
	}

	rd := &sseReader{r: bufio.NewReaderSize(resp.Body, 64<<10)}
	for {
		ev, err := rd.next(func() { idle.Reset(w.c.watchIdle) })
		if err != nil {
			var tooLong errEventTooLarge
			if errors.As(err, &tooLong) {
				return progressed, err
			}
			if ctx.Err() != nil {
				return progressed, ctx.Err()
			}
			// Dropped, cut, silent too long, or ended to answer a
			// progress request: retry.
			w.asked = w.owed.Load()
			return progressed, nil
		}
		switch ev.event {
		case wire.EventPut, wire.EventDelete:
			var we wire.WatchEvent
			if err := json.Unmarshal(ev.data, &we); err != nil {
				return progressed, fmt.Errorf("vkvclient: watch event %q: %w", ev.data, err)
			}
			e := we.Entry()
			switch {
			case e.Version <= resume || e.Version < w.last:
				continue // the server never sends these
			case e.Version == w.last && skip > 0:
				skip-- // delivered before the reconnection
				continue
			case e.Version == w.last:
				w.n++
			default:
				w.last, w.n, skip = e.Version, 1, 0
			}
			if e.TxnEnd {
				w.n = 0 // the version is whole: resume after it
			}
			progressed = true
			if !w.yield(e, nil) {
				w.stopped = true
				return progressed, nil
			}
		case wire.EventProgress:
			var pe wire.ProgressEvent
			if err := json.Unmarshal(ev.data, &pe); err != nil {
				return progressed, fmt.Errorf("vkvclient: watch progress event %q: %w", ev.data, err)
			}
			if pe.Version < w.last || skip > 0 {
				// Behind what was delivered (a replica that lags the
				// one before it): nothing to report.
				continue
			}
			w.last, w.n = pe.Version, 0
			w.owed.Store(false)
			progressed = true
			if !w.yield(vkv.Entry{Version: pe.Version, Progress: true}, nil) {
				w.stopped = true
				return progressed, nil
			}
		case wire.EventError:
			var p wire.Problem
			if err := json.Unmarshal(ev.data, &p); err != nil || p.Type == "" {
				return progressed, fmt.Errorf("vkvclient: watch error event %q: not a problem", ev.data)
			}
			if p.Name() == wire.ProblemUnavailable {
				return progressed, nil // the server is going away or its store closed: retry
			}
			cl.version = w.last
			return progressed, problemError(p.Status, p, cl)
		}
		// Other event names are for later versions of the stream: skipped.
	}
}

// errEventTooLarge reports a line of the stream over maxEventSize.
type errEventTooLarge struct{}

func (errEventTooLarge) Error() string {
	return fmt.Sprintf("vkvclient: watch stream line longer than %d bytes", maxEventSize)
}

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	event string
	data  []byte
}

// sseReader parses a text/event-stream as the HTML standard describes:
// lines end with LF, CRLF or CR; "field: value" lines set the fields of the
// event dispatched at the next blank line; lines starting with ':' are
// comments. Only the fields event and data are kept (the id is the
// version, which the data carries too).
type sseReader struct {
	r      *bufio.Reader
	line   []byte
	skipLF bool // the last line ended with CR: an LF right after it belongs to it
}

// readLine returns the next line without its end, valid until the next
// call; alive is called whenever bytes arrive.
func (s *sseReader) readLine(alive func()) ([]byte, error) {
	s.line = s.line[:0]
	for {
		if s.r.Buffered() == 0 {
			if _, err := s.r.Peek(1); err != nil {
				return nil, err
			}
		}
		alive()
		buf, _ := s.r.Peek(s.r.Buffered())
		if s.skipLF {
			s.skipLF = false
			if buf[0] == '\n' {
				s.r.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		if i < 0 {
			i = len(buf)
		}
		if len(s.line)+i > maxEventSize {
			return nil, errEventTooLarge{}
		}
		s.line = append(s.line, buf[:i]...)
		if i == len(buf) {
			s.r.Discard(i)
			continue
		}
		s.skipLF = buf[i] == '\r'
		s.r.Discard(i + 1)
		return s.line, nil
	}
}

// next returns the next event; comments (heartbeats) only call alive.
func (s *sseReader) next(alive func()) (sseEvent, error) {
	var (
		ev      sseEvent
		hasData bool
	)
	for {
		line, err := s.readLine(alive)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if hasData {
				return ev, nil
			}
			ev = sseEvent{}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := bytes.Cut(line, []byte{':'})
		if found {
			value = bytes.TrimPrefix(value, []byte{' '})
		}
		switch string(field) {
		case "event":
			ev.event = string(value)
		case "data":
			if hasData {
				ev.data = append(ev.data, '\n')
			}
			ev.data = append(ev.data, value...)
			hasData = true
		}
	}
}

// watchSet holds the cancel functions of the watches in progress, so that
// Close can end them. The zero value is ready to use.
type watchSet struct {
	mu     sync.Mutex
	next   uint64
	cancel map[uint64]context.CancelCauseFunc
}

// add registers a watch and returns its id.
func (s *watchSet) add(cancel context.CancelCauseFunc) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		s.cancel = map[uint64]context.CancelCauseFunc{}
	}
	s.next++
	s.cancel[s.next] = cancel
	return s.next
}

// remove forgets the watch id.
func (s *watchSet) remove(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cancel, id)
}

// closeAll ends every watch in progress with vkv.ErrClosed.
func (s *watchSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.cancel {
		cancel(vkv.ErrClosed)
	}
}
