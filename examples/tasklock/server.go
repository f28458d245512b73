package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/vkvstore/vkv"
)

// Where the service keeps its state in the store. The lock key exists only
// while a run holds the task; the run key keeps the latest run of the task,
// finished or not.
const (
	lockPrefix = "tasklock/locks/"
	runPrefix  = "tasklock/runs/"
)

func lockKey(name string) string { return lockPrefix + name }
func runKey(name string) string  { return runPrefix + name }

// Statuses of a run. A run is "abandoned" when its record still says running
// but its lease is gone: the process that ran it died, or lost the lease
// and could not record why. The store never holds that status; the status
// handler derives it.
const (
	statusRunning   = "running"
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
	statusCancelled = "cancelled"
	statusAbandoned = "abandoned"
	statusIdle      = "idle"
)

// Limits of the request.
const (
	maxBodyBytes = 64 << 10
	maxNameLen   = 64
	// opTimeout bounds the store calls that end a run, which must happen
	// even while the service shuts down.
	opTimeout = 10 * time.Second
)

// config is what the options set.
type config struct {
	leaseTTL        time.Duration
	refreshEvery    time.Duration // 0: a third of leaseTTL
	defaultDuration time.Duration
	maxDuration     time.Duration
	instance        string
	logger          *slog.Logger
}

// option configures newServer.
type option func(*config)

// withLeaseTTL sets the TTL of a task's lock. The running task refreshes it
// every third of the TTL; a holder that dies keeps the task blocked for at
// most one TTL.
func withLeaseTTL(d time.Duration) option { return func(c *config) { c.leaseTTL = d } }

// withRefreshEvery sets how often a running task refreshes its lease; the
// default is a third of the TTL. The lease survives a stall of the process
// (a GC pause, a starved CPU) as long as the TTL less this interval.
func withRefreshEvery(d time.Duration) option { return func(c *config) { c.refreshEvery = d } }

// withDefaultDuration sets how long a simulated task runs when the request
// gives no durationMs.
func withDefaultDuration(d time.Duration) option {
	return func(c *config) { c.defaultDuration = d }
}

// withInstance names this process in the lock, so that a 409 says which
// instance runs the task.
func withInstance(name string) option { return func(c *config) { c.instance = name } }

// withLogger sets the logger; the default discards.
func withLogger(l *slog.Logger) option { return func(c *config) { c.logger = l } }

// holder is the value of a lock key: which run holds the task.
type holder struct {
	TaskID    string    `json:"taskId"`
	Name      string    `json:"name"`
	Instance  string    `json:"instance"`
	StartedAt time.Time `json:"startedAt"`
}

// runRecord is the record of a task's latest run, at runKey(name).
type runRecord struct {
	TaskID       string      `json:"taskId"`
	Name         string      `json:"name"`
	Instance     string      `json:"instance"`
	Status       string      `json:"status"`
	FencingToken vkv.Version `json:"fencingToken"`
	DurationMs   int64       `json:"durationMs"`
	StartedAt    time.Time   `json:"startedAt"`
	EndedAt      *time.Time  `json:"endedAt,omitempty"`
	Error        string      `json:"error,omitempty"`
}

// startRequest is the body of POST /tasks.
type startRequest struct {
	Name       string `json:"name"`
	DurationMs int64  `json:"durationMs"` // 0: the default duration
	Fail       bool   `json:"fail"`       // the simulated task fails at the end
}

// startResponse is the body of a 202 to POST /tasks. LeaseExpiresAt counts
// the TTL from the start of the run, a moment before the lock's write: the
// store's own expiry is a little later, never earlier. (A vkv.Lock does not
// say when its lease ends.)
type startResponse struct {
	runRecord
	LeaseExpiresAt time.Time `json:"leaseExpiresAt"`
}

// taskStatus is the body of GET /tasks/{name}.
type taskStatus struct {
	Name           string      `json:"name"`
	Status         string      `json:"status"` // running or idle
	RunningTaskID  string      `json:"runningTaskId,omitempty"`
	FencingToken   vkv.Version `json:"fencingToken,omitempty"`
	LeaseExpiresAt *time.Time  `json:"leaseExpiresAt,omitempty"`
	LastRun        *runRecord  `json:"lastRun,omitempty"`
}

// server is the task service: an http.Handler over a vkv.KV. Close stops
// the running tasks and releases their locks.
type server struct {
	kv  vkv.KV
	cfg config
	mux *http.ServeMux

	ctx    context.Context // cancelled by Close: running tasks stop
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	tasks  sync.WaitGroup // one per running task
}

// newServer returns the service over kv. kv may be shared by several
// instances (a vkvclient.Client to one vkv server): the lock is in the store,
// so at most one of them runs a given task at a time.
func newServer(kv vkv.KV, opts ...option) *server {
	cfg := config{
		leaseTTL:        30 * time.Second,
		defaultDuration: 5 * time.Second,
		maxDuration:     24 * time.Hour,
		instance:        "tasklock",
		logger:          slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.refreshEvery <= 0 || cfg.refreshEvery >= cfg.leaseTTL {
		cfg.refreshEvery = cfg.leaseTTL / 3
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{kv: kv, cfg: cfg, mux: http.NewServeMux(), ctx: ctx, cancel: cancel}
	s.mux.HandleFunc("POST /tasks", s.handleStart)
	s.mux.HandleFunc("GET /tasks/{name}", s.handleStatus)
	s.mux.HandleFunc("/tasks", methodNotAllowed("POST"))
	s.mux.HandleFunc("/tasks/{name}", methodNotAllowed("GET, HEAD"))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, &problem{Status: http.StatusNotFound, name: "not-found",
			Detail: "no such route; the routes are POST /tasks and GET /tasks/{name}"})
	})
	return s
}

// ServeHTTP serves the routes of the service.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close cancels the running tasks, waits for them to record their end and
// release their locks, and refuses new ones. It does not close the KV.
func (s *server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.tasks.Wait()
}

// handleStart is POST /tasks: start the task unless it is running.
func (s *server) handleStart(w http.ResponseWriter, r *http.Request) {
	req, p := s.decodeStart(w, r)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	d := s.cfg.defaultDuration
	if req.DurationMs > 0 {
		d = time.Duration(req.DurationMs) * time.Millisecond
	}

	// Count the task before taking its lock, so that Close waits for it
	// or this request sees that the service is closing.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeProblem(w, r, &problem{Status: http.StatusServiceUnavailable, name: "unavailable",
			Detail: "the service is shutting down"})
		return
	}
	s.tasks.Add(1)
	s.mu.Unlock()

	lock, rec, err := s.acquire(r.Context(), req.Name, d)
	if err != nil {
		s.tasks.Done()
		var busy *busyError
		if errors.As(err, &busy) {
			s.cfg.logger.Info("task already running", "task", req.Name, "runningTaskId", busy.holder.TaskID)
			writeProblem(w, r, busy.problem(req.Name))
			return
		}
		s.storeFailure(w, r, err)
		return
	}
	s.cfg.logger.Info("task started", "task", rec.Name, "taskId", rec.TaskID, "fencingToken", rec.FencingToken, "duration", d)
	go s.supervise(lock, rec, d, req.Fail)

	w.Header().Set("Location", "/tasks/"+req.Name)
	writeJSON(w, http.StatusAccepted, startResponse{runRecord: rec, LeaseExpiresAt: rec.StartedAt.Add(s.cfg.leaseTTL)})
}

// decodeStart reads and checks the body of POST /tasks.
func (s *server) decodeStart(w http.ResponseWriter, r *http.Request) (startRequest, *problem) {
	var req startRequest
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return req, &problem{Status: http.StatusUnsupportedMediaType, name: "unsupported-media-type",
				Detail: fmt.Sprintf("the body must be application/json, not %q", ct)}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, invalid("the body is not a JSON task request: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, invalid("the body holds more than one JSON value")
	}
	if err := checkName(req.Name); err != nil {
		return req, invalid("%v", err)
	}
	if req.DurationMs < 0 || time.Duration(req.DurationMs)*time.Millisecond > s.cfg.maxDuration {
		return req, invalid("durationMs must be between 0 (the default, %v) and %d", s.cfg.defaultDuration, s.cfg.maxDuration.Milliseconds())
	}
	return req, nil
}

// checkName accepts 1 to 64 ASCII letters, digits, '.', '_' and '-': a name
// that is safe in a URL path and a key.
func checkName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("name must have 1 to %d characters, not %d", maxNameLen, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("name %q has a character other than letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

// busyError reports that another run holds the task.
type busyError struct {
	holder    holder
	token     vkv.Version
	expiresAt time.Time
}

func (e *busyError) Error() string {
	return fmt.Sprintf("task %s is already running as %s", e.holder.Name, e.holder.TaskID)
}

// problem is the 409 body that names the running task.
func (e *busyError) problem(name string) *problem {
	p := &problem{
		Status: http.StatusConflict, name: "task-already-running", Instance: "/tasks/" + name,
		Task: name, RunningTaskID: e.holder.TaskID, FencingToken: e.token,
	}
	p.Detail = fmt.Sprintf("task %q is already running as %s", name, e.holder.TaskID)
	if e.holder.Instance != "" {
		p.Detail += " on " + e.holder.Instance
	}
	if !e.holder.StartedAt.IsZero() {
		t := e.holder.StartedAt.UTC()
		p.RunningSince = &t
		p.Detail += " since " + t.Format(time.RFC3339)
	}
	if !e.expiresAt.IsZero() {
		t := e.expiresAt.UTC()
		p.LeaseExpiresAt = &t
	}
	return p
}

// acquire takes the task's lock and records the new run. If another run
// holds the lock, the error is a *busyError naming it.
func (s *server) acquire(ctx context.Context, name string, d time.Duration) (*vkv.Lock, runRecord, error) {
	h := holder{TaskID: newTaskID(), Name: name, Instance: s.cfg.instance, StartedAt: time.Now().UTC()}
	owner, err := json.Marshal(h)
	if err != nil {
		return nil, runRecord{}, err
	}
	var lock *vkv.Lock
	// A conflict usually carries the holder (ConflictError.Current); if it
	// does not, the holder is read, and if the lock expired in between,
	// acquiring is tried again.
	for attempt := 0; ; attempt++ {
		lock, err = vkv.AcquireLock(ctx, s.kv, lockKey(name), owner, s.cfg.leaseTTL)
		var ce *vkv.ConflictError
		if !errors.As(err, &ce) {
			break
		}
		cur := ce.Current
		if cur == nil {
			e, gerr := s.kv.Get(ctx, lockKey(name))
			if errors.Is(gerr, vkv.ErrNotFound) && attempt < 3 {
				continue
			}
			if gerr != nil {
				return nil, runRecord{}, gerr
			}
			cur = &e
		}
		return nil, runRecord{}, &busyError{holder: parseHolder(name, cur.Value), token: cur.CreateVersion, expiresAt: cur.ExpiresAt}
	}
	if err != nil {
		return nil, runRecord{}, err
	}
	rec := runRecord{
		TaskID: h.TaskID, Name: name, Instance: h.Instance, Status: statusRunning,
		FencingToken: lock.Token(), DurationMs: d.Milliseconds(), StartedAt: h.StartedAt,
	}
	// The request may be cancelled now that the lock is taken; what follows
	// must not be.
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	if err := s.putRun(octx, lock, rec); err != nil {
		if rerr := lock.Release(octx); rerr != nil {
			s.cfg.logger.Warn("releasing a lock after a failed start", "task", name, "err", rerr)
		}
		return nil, runRecord{}, err
	}
	return lock, rec, nil
}

// parseHolder decodes a lock value; a value this service did not write is
// reported as the holder's task id, as is.
func parseHolder(name string, value []byte) holder {
	var h holder
	if err := json.Unmarshal(value, &h); err != nil || h.TaskID == "" {
		return holder{TaskID: string(value), Name: name}
	}
	return h
}

// errNotHolder is returned by putRun when the lock is no longer the one the
// run acquired.
var errNotHolder = errors.New("the run no longer holds the task's lock")

// putRun writes the run record, fenced by the lock: in one transaction, the
// lock key must still carry the run's fencing token (its CreateVersion),
// so a run whose lease ran out cannot overwrite the record of the run that
// took over. The read of the lock key is a condition of the commit.
func (s *server) putRun(ctx context.Context, lock *vkv.Lock, rec runRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = s.kv.Update(ctx, func(tx vkv.Txn) error {
		l, err := tx.Get(lock.Key())
		if errors.Is(err, vkv.ErrNotFound) {
			return errNotHolder
		}
		if err != nil {
			return err
		}
		if l.CreateVersion != lock.Token() {
			return errNotHolder
		}
		return tx.Put(runKey(rec.Name), b)
	})
	return err
}

// supervise runs the task, refreshes its lease while it runs, records its
// end and releases the lock. The lock is used from this goroutine only: a
// vkv.Lock is not safe for concurrent use.
func (s *server) supervise(lock *vkv.Lock, rec runRecord, d time.Duration, fail bool) {
	defer s.tasks.Done()
	log := s.cfg.logger.With("task", rec.Name, "taskId", rec.TaskID)

	workCtx, stopWork := context.WithCancel(s.ctx)
	defer stopWork()
	done := make(chan error, 1)
	go func() { done <- simulate(workCtx, d, fail) }()

	refresh := time.NewTicker(s.cfg.refreshEvery)
	defer refresh.Stop()
	for {
		select {
		case err := <-done:
			s.finish(log, lock, rec, err)
			return
		case <-refresh.C:
			ctx, cancel := context.WithTimeout(s.ctx, s.cfg.refreshEvery)
			err := lock.Refresh(ctx)
			cancel()
			switch {
			case err == nil:
				log.Debug("lease refreshed")
			case errors.Is(err, vkv.ErrLockLost):
				// Another run may hold the task now: stop, and write
				// nothing (putRun would refuse anyway).
				stopWork()
				<-done
				log.Error("lease lost; task stopped", "err", err)
				return
			case s.ctx.Err() != nil:
				// Shutting down: the work sees the same cancellation and
				// finishes through done.
			default:
				// The store may come back before the lease runs out;
				// the next tick tries again, and the fencing token
				// guards what the task writes meanwhile.
				log.Warn("refreshing the lease", "err", err)
			}
		}
	}
}

// finish records how the run ended, then releases the lock.
func (s *server) finish(log *slog.Logger, lock *vkv.Lock, rec runRecord, workErr error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), opTimeout)
	defer cancel()
	now := time.Now().UTC()
	rec.EndedAt = &now
	switch {
	case workErr == nil:
		rec.Status = statusSucceeded
	case s.ctx.Err() != nil:
		rec.Status = statusCancelled
		rec.Error = "the service shut down"
	default:
		rec.Status = statusFailed
		rec.Error = workErr.Error()
	}
	if err := s.putRun(ctx, lock, rec); err != nil {
		log.Error("recording the end of the run", "status", rec.Status, "err", err)
	}
	if err := lock.Release(ctx); err != nil {
		log.Error("releasing the lock", "err", err)
		return
	}
	log.Info("task ended", "status", rec.Status)
}

// simulate stands for the automation: it takes d, then succeeds (or fails,
// if asked to), unless ctx ends first.
func simulate(ctx context.Context, d time.Duration, fail bool) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		if fail {
			return errors.New("the simulated task failed")
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handleStatus is GET /tasks/{name}: whether the task runs, and its latest
// run, read from one snapshot of the store.
func (s *server) handleStatus(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := checkName(name); err != nil {
		writeProblem(w, r, invalid("%v", err))
		return
	}
	var lockEntry, runEntry *vkv.Entry
	err := s.kv.View(r.Context(), func(tx vkv.Txn) error {
		var err error
		if lockEntry, err = getOptional(tx, lockKey(name)); err != nil {
			return err
		}
		runEntry, err = getOptional(tx, runKey(name))
		return err
	})
	if err != nil {
		s.storeFailure(w, r, err)
		return
	}
	if lockEntry == nil && runEntry == nil {
		writeProblem(w, r, &problem{Status: http.StatusNotFound, name: "not-found", Instance: r.URL.Path,
			Detail: fmt.Sprintf("task %q has never run", name)})
		return
	}
	st := taskStatus{Name: name, Status: statusIdle}
	var h holder
	if lockEntry != nil {
		h = parseHolder(name, lockEntry.Value)
		exp := lockEntry.ExpiresAt.UTC()
		st.Status, st.RunningTaskID, st.FencingToken, st.LeaseExpiresAt = statusRunning, h.TaskID, lockEntry.CreateVersion, &exp
	}
	if runEntry != nil {
		var rec runRecord
		if err := json.Unmarshal(runEntry.Value, &rec); err != nil {
			s.storeFailure(w, r, fmt.Errorf("the record of task %q does not decode: %w", name, err))
			return
		}
		if rec.Status == statusRunning && (lockEntry == nil || h.TaskID != rec.TaskID) {
			rec.Status = statusAbandoned
		}
		st.LastRun = &rec
	}
	writeJSON(w, http.StatusOK, st)
}

// getOptional returns the entry of key, or nil if the key does not exist.
func getOptional(tx vkv.Txn, key string) (*vkv.Entry, error) {
	e, err := tx.Get(key)
	if errors.Is(err, vkv.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// storeFailure logs err and answers with the problem it maps to.
func (s *server) storeFailure(w http.ResponseWriter, r *http.Request, err error) {
	p := storeProblem(err)
	s.cfg.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
	writeProblem(w, r, p)
}

// newTaskID returns a random id for a run.
func newTaskID() string {
	var b [6]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return "run-" + hex.EncodeToString(b[:])
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
