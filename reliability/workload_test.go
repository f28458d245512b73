package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvclient"
)

// workload describes a generated history.
type workload struct {
	Clients int   // concurrent clients, one goroutine each
	Ops     int   // operations in all
	Keys    int   // hot keys (at most maxKeys)
	Txn     bool  // mix in two-key Update and View transactions
	Seed    int64 // seed of the clients' choices; 0 picks one
	// ShortDeadlines is the share of writes (0 to 1) given a deadline of
	// a few hundred microseconds, so that some end with a context error
	// and an unknown outcome.
	ShortDeadlines float64
	// Faults says the backend is being made to fail (an etcd member
	// killed): errors that say so (vkv.ErrUnavailable, a 5xx from the
	// server) are expected. A write that failed is recorded as possibly
	// applied, a read that failed as nothing.
	Faults bool
	// Progress, if set, counts the operations completed.
	Progress *atomic.Int64
}

// history is what a workload recorded.
type history struct {
	keys []string
	ops  []porcupine.Operation
	// counts by operation and outcome, for the log and RELIABILITY.md.
	byOp      map[string]int
	unknown   int // operations recorded with an unknown outcome
	dropped   int // reads that failed, and transactions that gave up
	conflicts int
	notFound  int
	faults    int // operations that failed because of an injected fault
	// unexpected lists errors the store should not return.
	unexpected []string
}

// summary is a one-line description of h.
func (h *history) summary() string {
	return fmt.Sprintf("%d operations checked (%v), %d conflicts, %d not found, %d unknown outcome, %d dropped, %d failed by a fault",
		len(h.ops), h.byOp, h.conflicts, h.notFound, h.unknown, h.dropped, h.faults)
}

// clock is a monotonic clock shared by the clients of one run.
type clock struct{ start time.Time }

func (c clock) now() int64 { return int64(time.Since(c.start)) }

// run drives w against kv and records the history.
func (w workload) run(t *testing.T, kv vkv.KV) *history {
	t.Helper()
	if w.Keys > maxKeys {
		t.Fatalf("workload with %d keys; the model holds %d", w.Keys, maxKeys)
	}
	seed := w.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("workload: %d clients, %d ops, %d keys, txn %t, seed %d", w.Clients, w.Ops, w.Keys, w.Txn, seed)
	// Fresh key names, so that several workloads can share a store.
	tag := fmt.Sprintf("%x", uint32(seed))
	keys := make([]string, w.Keys)
	for i := range keys {
		keys[i] = fmt.Sprintf("lin/%s/k%d", tag, i)
	}
	ck := clock{start: time.Now()}
	perClient := make([][]porcupine.Operation, w.Clients)
	hs := make([]*history, w.Clients)
	var wg sync.WaitGroup
	for c := range w.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &client{
				id: c, kv: kv, keys: keys, w: w, clock: ck,
				rng:  rand.New(rand.NewPCG(uint64(seed), uint64(c))),
				seen: make([]uint64, len(keys)),
				h:    &history{byOp: map[string]int{}},
			}
			n := w.Ops / w.Clients
			if c < w.Ops%w.Clients {
				n++
			}
			for i := range n {
				cl.step(i)
			}
			perClient[c], hs[c] = cl.ops, cl.h
		}()
	}
	wg.Wait()
	h := &history{keys: keys, byOp: map[string]int{}}
	for c := range w.Clients {
		h.ops = append(h.ops, perClient[c]...)
		for k, n := range hs[c].byOp {
			h.byOp[k] += n
		}
		h.unknown += hs[c].unknown
		h.dropped += hs[c].dropped
		h.conflicts += hs[c].conflicts
		h.notFound += hs[c].notFound
		h.faults += hs[c].faults
		h.unexpected = append(h.unexpected, hs[c].unexpected...)
	}
	return h
}

// client is one goroutine of a workload.
type client struct {
	id    int
	kv    vkv.KV
	keys  []string
	w     workload
	clock clock
	rng   *rand.Rand
	seen  []uint64 // the newest version this client saw of each key
	ops   []porcupine.Operation
	h     *history
}

// pick chooses the next operation.
func (c *client) pick() opKind {
	n := c.rng.IntN(100)
	if c.w.Txn {
		switch {
		case n < 10:
			return opTxn
		case n < 20:
			return opView
		}
		n = c.rng.IntN(100)
	}
	switch {
	case n < 30:
		return opGet
	case n < 42:
		return opPut
	case n < 80:
		return opCAS
	case n < 88:
		return opDelete
	default:
		return opCAD
	}
}

// expected chooses the version a CAS or CAD expects: mostly the newest the
// client saw, sometimes 0 (absent) or one just below.
func (c *client) expected(k int) uint64 {
	switch n := c.rng.IntN(10); {
	case n == 0:
		return 0
	case n == 1 && c.seen[k] > 0:
		return c.seen[k] - 1
	default:
		return c.seen[k]
	}
}

// step runs and records operation number i of the client.
func (c *client) step(i int) {
	in := kvInput{Op: c.pick(), Key: c.rng.IntN(len(c.keys))}
	switch in.Op {
	case opPut, opCAS:
		in.Value = fmt.Sprintf("c%d.%d", c.id, i)
	case opTxn, opView:
		in.Key2 = (in.Key + 1 + c.rng.IntN(len(c.keys)-1)) % len(c.keys)
		if in.Op == opTxn {
			in.Value, in.Value2 = fmt.Sprintf("c%d.%da", c.id, i), fmt.Sprintf("c%d.%db", c.id, i)
		}
	}
	if in.Op == opCAS || in.Op == opCAD {
		in.Expected = c.expected(in.Key)
	}
	ctx := context.Background()
	if in.Op.writes() && c.w.ShortDeadlines > 0 && c.rng.Float64() < c.w.ShortDeadlines {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(c.rng.IntN(400))*time.Microsecond)
		defer cancel()
	}
	call := c.clock.now()
	out, err := execute(ctx, c.kv, c.keys, in)
	ret := c.clock.now()
	c.h.byOp[in.Op.String()]++
	if c.w.Progress != nil {
		c.w.Progress.Add(1)
	}

	if err != nil {
		isCtx := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
		gaveUp := in.Op == opTxn && errors.Is(err, vkv.ErrConflict)
		if c.w.Faults && faultError(err) {
			c.h.faults++
		} else if !isCtx && !gaveUp {
			c.h.unexpected = append(c.h.unexpected, fmt.Sprintf("%s: %v", describeOp(c.keys, in, kvOutput{Unknown: true}), err))
		}
		if !in.Op.writes() || gaveUp {
			// A read that failed constrains nothing, and a transaction
			// that gave up on conflicts wrote nothing.
			c.h.dropped++
			return
		}
		// The write may have taken effect: it is pending forever.
		c.h.unknown++
		c.ops = append(c.ops, porcupine.Operation{ClientId: c.id, Input: in, Call: call, Output: kvOutput{Unknown: true}, Return: math.MaxInt64})
		return
	}
	switch out.Status {
	case stConflict:
		c.h.conflicts++
	case stNotFound:
		c.h.notFound++
	}
	c.learn(in, out)
	c.ops = append(c.ops, porcupine.Operation{ClientId: c.id, Input: in, Call: call, Output: out, Return: ret})
}

// learn keeps the newest version the client saw of each key.
func (c *client) learn(in kvInput, out kvOutput) {
	switch {
	case in.Op == opGet:
		c.seen[in.Key] = out.Read.Version
	case in.Op == opTxn || in.Op == opView:
		c.seen[in.Key], c.seen[in.Key2] = out.Reads[0].Version, out.Reads[1].Version
		if in.Op == opTxn {
			c.seen[in.Key], c.seen[in.Key2] = out.Version, out.Version
		}
	case out.Status == stConflict:
		c.seen[in.Key] = out.Version
	case out.Status == stOK && (in.Op == opDelete || in.Op == opCAD):
		c.seen[in.Key] = 0
	case out.Status == stOK:
		c.seen[in.Key] = out.Version
	}
}

// faultError reports whether err is what a request meets while the backend
// is failing: vkv.ErrUnavailable or vkv.ErrOutcomeUnknown, or a server
// error (5xx) from the HTTP client.
func faultError(err error) bool {
	var pe *vkvclient.ProblemError
	return errors.Is(err, vkv.ErrUnavailable) || errors.Is(err, vkv.ErrOutcomeUnknown) ||
		(errors.As(err, &pe) && pe.StatusCode >= 500)
}

func readOf(e vkv.Entry) read {
	return read{Found: true, Value: string(e.Value), Version: uint64(e.Version), Create: uint64(e.CreateVersion)}
}

// execute runs in against kv. An error it returns is one the model has no
// answer for: a context or transport error, or a bug.
func execute(ctx context.Context, kv vkv.KV, keys []string, in kvInput) (kvOutput, error) {
	key := keys[in.Key]
	var (
		out kvOutput
		v   vkv.Version
		err error
	)
	switch in.Op {
	case opGet:
		var e vkv.Entry
		e, err = kv.Get(ctx, key)
		if err == nil {
			out.Read = readOf(e)
		}
	case opPut:
		v, err = kv.Put(ctx, key, []byte(in.Value))
	case opCAS:
		v, err = kv.CompareAndSwap(ctx, key, vkv.Version(in.Expected), []byte(in.Value))
	case opDelete:
		v, err = kv.Delete(ctx, key)
	case opCAD:
		v, err = kv.CompareAndDelete(ctx, key, vkv.Version(in.Expected))
	case opTxn:
		v, err = kv.Update(ctx, func(tx vkv.Txn) error {
			if err := txnReads(tx, keys, in, &out.Reads); err != nil {
				return err
			}
			if err := tx.Put(key, []byte(in.Value)); err != nil {
				return err
			}
			return tx.Put(keys[in.Key2], []byte(in.Value2))
		})
		if err != nil {
			return out, err
		}
	case opView:
		err = kv.View(ctx, func(tx vkv.Txn) error { return txnReads(tx, keys, in, &out.Reads) })
		if err != nil {
			return out, err
		}
	}
	out.Version = uint64(v)
	var ce *vkv.ConflictError
	switch {
	case err == nil:
		out.Status = stOK
	case errors.Is(err, vkv.ErrNotFound) && (in.Op == opGet || in.Op == opDelete || in.Op == opCAD):
		out.Status = stNotFound
	case errors.As(err, &ce) && (in.Op == opCAS || in.Op == opCAD):
		if ce.Key != key || uint64(ce.Expected) != in.Expected {
			return out, fmt.Errorf("conflict names key %q expected %d: %w", ce.Key, ce.Expected, err)
		}
		if (ce.Current != nil) != (ce.Actual != 0) {
			return out, fmt.Errorf("conflict at version %d with current entry %v: %w", ce.Actual, ce.Current, err)
		}
		out.Status, out.Version = stConflict, uint64(ce.Actual)
		if ce.Current != nil {
			out.Read = readOf(*ce.Current)
		}
	default:
		return out, err
	}
	return out, nil
}

// txnReads reads both keys of in inside a transaction.
func txnReads(tx vkv.Txn, keys []string, in kvInput, reads *[2]read) error {
	for i, k := range [2]int{in.Key, in.Key2} {
		e, err := tx.Get(keys[k])
		switch {
		case err == nil:
			reads[i] = readOf(e)
		case errors.Is(err, vkv.ErrNotFound):
			reads[i] = read{}
		default:
			return err
		}
	}
	return nil
}

// versionViolations checks what the per-key model cannot see across keys:
// every successful write took a version of its own, and a write that began
// after another one returned got a greater version. It returns the
// violations found, at most a few.
func versionViolations(h *history) []string {
	type write struct {
		call, ret int64
		v         uint64
		desc      string
	}
	var ws []write
	for _, op := range h.ops {
		in, out := op.Input.(kvInput), op.Output.(kvOutput)
		if in.Op.writes() && !out.Unknown && out.Status == stOK {
			ws = append(ws, write{op.Call, op.Return, out.Version, describeOp(h.keys, in, out)})
		}
	}
	var bad []string
	owner := map[uint64]string{}
	for _, w := range ws {
		if prev, dup := owner[w.v]; dup && len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("version %d handed out twice: %s and %s", w.v, prev, w.desc))
		}
		owner[w.v] = w.desc
	}
	// Sort by return time and keep the running maximum of versions, then
	// ask, for each write, the largest version returned before its call.
	byRet := append([]write(nil), ws...)
	sort.Slice(byRet, func(i, j int) bool { return byRet[i].ret < byRet[j].ret })
	maxUpTo := make([]write, len(byRet))
	for i, w := range byRet {
		maxUpTo[i] = w
		if i > 0 && maxUpTo[i-1].v > w.v {
			maxUpTo[i] = maxUpTo[i-1]
		}
	}
	for _, w := range ws {
		i := sort.Search(len(byRet), func(i int) bool { return byRet[i].ret >= w.call })
		if i > 0 && maxUpTo[i-1].v >= w.v && len(bad) < 10 {
			p := maxUpTo[i-1]
			bad = append(bad, fmt.Sprintf("%s began after %s returned, with a version not above it", w.desc, p.desc))
		}
	}
	return bad
}
