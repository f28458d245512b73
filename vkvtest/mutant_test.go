package vkvtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvtest"
)

// The mutant tests check the suite itself: each mutant wraps a correct store
// and breaks one promise of vkv.KV, and the suite must fail the properties
// that cover that promise. A mutant runs in a child process (this test binary
// again), since a failing *testing.T cannot be contained in the parent.

// mutantEnv names the mutant a child process runs the suite against.
const mutantEnv = "VKVTEST_MUTANT"

// mutants maps a mutant to the subtests (group/case) that must fail with it.
var mutants = map[string][]string{
	"get-missing-nil":        {"Plain/GetMissing"},
	"create-version-is-last": {"Plain/PutGet"},
	"delete-missing-ok":      {"Plain/Delete"},
	"cas-unconditional":      {"Plain/CompareAndSwapConflict", "Invariants/NoLostUpdateCAS", "Invariants/CreateExclusive"},
	"cas-racy":               {"Invariants/NoLostUpdateCAS", "Invariants/CreateExclusive"},
	"conflict-no-current":    {"Plain/CompareAndSwapConflict", "Plain/CompareAndDelete"},
	"conflict-untyped":       {"Plain/CompareAndSwapConflict", "Invariants/CreateExclusive"},
	"cad-missing-conflict":   {"Plain/CompareAndDelete"},
	"empty-value-missing":    {"Plain/EmptyValue"},
	"binary-value-utf8":      {"Plain/BinaryValue"},
	"value-aliased":          {"Plain/ValueOwnership"},
	"key-cut-at-nul":         {"Plain/Keys"},
	"list-unsorted":          {"List/Order", "List/Paging"},
	"list-after-inclusive":   {"List/After", "List/Paging"},
	"list-prefix-ignored":    {"List/Prefix"},
	"list-next-always":       {"List/Paging"},
	"list-no-default":        {"List/DefaultLimit"},
	"list-no-cap":            {"List/MaxLimit"},
	"list-stale-values":      {"List/Entries"},
	"history-oldest-first":   {"History/NewestFirst"},
	"history-no-limit":       {"History/Limit"},
	"history-no-tombstones":  {"History/NewestFirst"},
	"getat-latest":           {"History/GetAt"},
	"getat-no-future":        {"History/GetAtFuture"},
	"update-version-off":     {"Txn/Atomic"},
	"update-no-retry":        {"Txn/RetryOnChange", "Txn/RetryOnCreate"},
	"update-first-conflict":  {"Txn/ExpectConflicts"},
	"update-fn-error-lost":   {"Txn/FnError"},
	"update-leaks-writes":    {"Txn/ExpectConflicts", "Invariants/FailedTxnWritesNothing"},
	"txn-get-committed":      {"Txn/ReadOwnWrites"},
	"view-live":              {"Txn/ViewSnapshot"},
	"view-writable":          {"Txn/ViewReadOnly"},
	"txn-never-done":         {"Txn/TxnDone"},
	"versions-reused":        {"Invariants/VersionsUnique"},
	"ttl-ignored":            {"TTL/Expiry", "TTL/ExpiresAt"},
	"ttl-lazy":               {"TTL/Expiry"},
	"ttl-negative-ok":        {"TTL/Negative"},
	"empty-key-notfound":     {"Input/EmptyKey"},
	"key-unbounded":          {"Input/HugeKey"},
	"value-limit-untyped":    {"Input/ValueTooLarge"},
	"txn-limit-untyped":      {"Input/TxnTooLarge"},
	"panic-empty-key":        {"Input/EmptyKey"},
	"context-ignored":        {"Input/CancelledContext"},
	"close-twice-errors":     {"Input/Closed"},
	"closed-untyped":         {"Input/Closed"},
	"history-missing-error":  {"History/Missing"},
	"delete-version-stale":   {"Invariants/VersionsIncrease"},
	"txn-reads-unchecked":    {"Invariants/NoLostUpdateTxn"},
	"flaky-errors":           {"Concurrency/Mixed"},
	"view-torn":              {"Concurrency/AtomicVisibility"},
}

// TestMutants runs the suite against every mutant in a child process and
// checks that the expected properties fail.
func TestMutants(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("in a mutant child process")
	}
	if testing.Short() {
		t.Skip("mutants skipped in -short mode")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range mutants {
			if !yield(k) {
				return
			}
		}
	}) {
		want := mutants[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Run only the groups the mutant should fail, to stay fast.
			groups := map[string]bool{}
			for _, w := range want {
				groups[strings.Split(w, "/")[0]] = true
			}
			var alts []string
			for g := range groups {
				alts = append(alts, g)
			}
			run := fmt.Sprintf("^TestMutantChild$/^(%s)$", strings.Join(alts, "|"))
			cmd := exec.CommandContext(t.Context(), exe, "-test.run="+run, "-test.count=1", "-test.timeout=60s")
			cmd.Env = append(os.Environ(), mutantEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("suite passed against mutant %q; want failures in %v\n%s", name, want, out)
			}
			for _, w := range want {
				if !strings.Contains(string(out), "--- FAIL: TestMutantChild/"+w+" ") {
					t.Errorf("mutant %q: subtest %s did not fail", name, w)
				}
			}
			if name != "panic-empty-key" && strings.Contains(string(out), "panic:") {
				t.Errorf("mutant %q: the suite panicked", name)
			}
			if t.Failed() {
				t.Logf("child output:\n%s", out)
			}
		})
	}
}

// TestMutantChild runs the suite against the mutant named in the
// environment; it is run by TestMutants only.
func TestMutantChild(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("run by TestMutants")
	}
	if _, ok := mutants[name]; !ok {
		t.Fatalf("unknown mutant %q", name)
	}
	vkvtest.Run(t, func(t *testing.T) vkv.KV {
		s, err := vkv.Open("", &vkv.Options{InMemory: true})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return &mutant{KV: s, m: name, cache: map[string][]byte{}}
	})
}

// mutant is a vkv.KV that breaks the promise named by m.
type mutant struct {
	vkv.KV
	m string

	mu     sync.Mutex
	cache  map[string][]byte // value-aliased: the caller's slices
	closed bool
	calls  atomic.Int64 // flaky-errors: calls to Get
}

func (k *mutant) is(names ...string) bool { return slices.Contains(names, k.m) }

func (k *mutant) ctx(ctx context.Context) context.Context {
	if k.is("context-ignored") {
		return context.Background()
	}
	return ctx
}

func (k *mutant) key(key string) string {
	if k.is("key-cut-at-nul") {
		if i := strings.IndexByte(key, 0); i >= 0 {
			return key[:i]
		}
	}
	return key
}

func (k *mutant) checkKey(key string) error {
	if key == "" && k.is("empty-key-notfound") {
		return vkv.ErrNotFound
	}
	if key == "" && k.is("panic-empty-key") {
		panic("empty key")
	}
	if len(key) > 4096 && k.is("key-unbounded") {
		return errors.New("key too long")
	}
	return nil
}

func (k *mutant) opts(opts []vkv.WriteOption) []vkv.WriteOption {
	switch {
	case k.is("ttl-ignored"):
		return nil
	case k.is("ttl-negative-ok"):
		if vkv.NewWriteOptions(opts...).TTL < 0 {
			return nil
		}
	case k.is("ttl-lazy"):
		if ttl := vkv.NewWriteOptions(opts...).TTL; ttl > 0 {
			return []vkv.WriteOption{vkv.WithTTL(ttl + 2*time.Second)}
		}
	}
	return opts
}

func (k *mutant) err(err error) error {
	var ce *vkv.ConflictError
	switch {
	case err == nil:
		return nil
	case k.is("closed-untyped") && errors.Is(err, vkv.ErrClosed):
		return errors.New("closed")
	case k.is("value-limit-untyped") && errors.Is(err, vkv.ErrValueTooLarge):
		return errors.New("too large")
	case k.is("txn-limit-untyped") && errors.Is(err, vkv.ErrTxnTooLarge):
		return errors.New("too large")
	case k.is("conflict-untyped") && errors.As(err, &ce):
		return fmt.Errorf("conflict: %w", vkv.ErrConflict)
	case k.is("conflict-no-current") && errors.As(err, &ce):
		c := *ce
		c.Current = nil
		return &c
	case k.is("update-first-conflict") && errors.As(err, &ce):
		c := *ce
		c.Conflicts = c.Conflicts[:1]
		return &c
	}
	return err
}

func (k *mutant) fixEntry(e vkv.Entry) vkv.Entry {
	if k.is("create-version-is-last") {
		e.CreateVersion = e.Version
	}
	if k.is("binary-value-utf8") {
		e.Value = []byte(strings.ToValidUTF8(string(e.Value), "?"))
	}
	return e
}

func (k *mutant) Get(ctx context.Context, key string) (vkv.Entry, error) {
	if err := k.checkKey(key); err != nil {
		return vkv.Entry{}, err
	}
	if k.is("flaky-errors") && k.calls.Add(1)%25 == 0 {
		return vkv.Entry{}, errors.New("flaky")
	}
	e, err := k.KV.Get(k.ctx(ctx), k.key(key))
	if errors.Is(err, vkv.ErrNotFound) && k.is("get-missing-nil") {
		return vkv.Entry{Key: key}, nil
	}
	if err == nil && len(e.Value) == 0 && k.is("empty-value-missing") {
		return vkv.Entry{}, vkv.ErrNotFound
	}
	if err == nil && k.is("value-aliased") {
		k.mu.Lock()
		if b, ok := k.cache[key]; ok {
			e.Value = b
		} else {
			k.cache[key] = e.Value
		}
		k.mu.Unlock()
	}
	if k.is("key-cut-at-nul") {
		e.Key = key
	}
	return k.fixEntry(e), k.err(err)
}

func (k *mutant) GetAt(ctx context.Context, key string, v vkv.Version) (vkv.Entry, error) {
	if err := k.checkKey(key); err != nil {
		return vkv.Entry{}, err
	}
	if k.is("getat-latest") {
		return k.Get(ctx, key)
	}
	e, err := k.KV.GetAt(k.ctx(ctx), k.key(key), v)
	if errors.Is(err, vkv.ErrFutureVersion) && k.is("getat-no-future") {
		return k.Get(ctx, key)
	}
	return k.fixEntry(e), k.err(err)
}

func (k *mutant) List(ctx context.Context, prefix, after string, limit int) (vkv.ListResult, error) {
	if k.is("list-prefix-ignored") {
		prefix = ""
	}
	if k.is("list-after-inclusive") && after != "" {
		after = after[:len(after)-1]
	}
	if k.is("list-no-default") && limit <= 0 {
		limit = vkv.MaxListLimit
	}
	lr, err := k.KV.List(k.ctx(ctx), prefix, after, limit)
	es, next := lr.Entries, lr.Next
	if k.is("list-no-cap") && limit > vkv.MaxListLimit && next != "" {
		lr, err2 := k.KV.List(ctx, prefix, next, limit)
		more, n := lr.Entries, lr.Next
		es, next, err = append(es, more...), n, errors.Join(err, err2)
	}
	if k.is("list-unsorted") {
		slices.Reverse(es)
	}
	if k.is("list-next-always") && next == "" && len(es) > 0 {
		next = es[len(es)-1].Key
	}
	for i := range es {
		if k.is("list-stale-values") && es[i].CreateVersion != es[i].Version {
			es[i].Version = es[i].CreateVersion
		}
		es[i] = k.fixEntry(es[i])
	}
	return vkv.ListResult{Entries: es, Next: next, Version: lr.Version}, k.err(err)
}

func (k *mutant) History(ctx context.Context, key string, limit int) ([]vkv.Entry, error) {
	if err := k.checkKey(key); err != nil {
		return nil, err
	}
	if k.is("history-missing-error") {
		if h, err := k.KV.History(ctx, key, limit); err == nil && len(h) == 0 {
			return nil, vkv.ErrNotFound
		}
	}
	if k.is("history-no-limit") {
		limit = 0
	}
	h, err := k.KV.History(k.ctx(ctx), k.key(key), limit)
	if k.is("history-oldest-first") {
		slices.Reverse(h)
	}
	if k.is("history-no-tombstones") {
		h = slices.DeleteFunc(h, func(e vkv.Entry) bool { return e.Deleted })
	}
	for i := range h {
		h[i] = k.fixEntry(h[i])
	}
	return h, k.err(err)
}

func (k *mutant) version(v vkv.Version) vkv.Version {
	if k.is("versions-reused") && v > 1 {
		return v &^ 1
	}
	return v
}

func (k *mutant) Put(ctx context.Context, key string, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	if err := k.checkKey(key); err != nil {
		return 0, err
	}
	v, err := k.KV.Put(k.ctx(ctx), k.key(key), value, k.opts(opts)...)
	if err == nil && k.is("value-aliased") {
		k.mu.Lock()
		k.cache[key] = value
		k.mu.Unlock()
	}
	return k.version(v), k.err(err)
}

func (k *mutant) CompareAndSwap(ctx context.Context, key string, expected vkv.Version, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	if err := k.checkKey(key); err != nil {
		return 0, err
	}
	if k.is("cas-unconditional") {
		return k.Put(ctx, key, value, opts...)
	}
	if k.is("cas-racy") {
		e, err := k.KV.Get(ctx, key)
		var actual vkv.Version
		if err == nil {
			actual = e.Version
		}
		if actual == expected {
			time.Sleep(time.Millisecond)
			return k.Put(ctx, key, value, opts...)
		}
	}
	v, err := k.KV.CompareAndSwap(k.ctx(ctx), k.key(key), expected, value, k.opts(opts)...)
	if err == nil && k.is("value-aliased") {
		k.mu.Lock()
		delete(k.cache, key)
		k.mu.Unlock()
	}
	return k.version(v), k.err(err)
}

func (k *mutant) Delete(ctx context.Context, key string) (vkv.Version, error) {
	if err := k.checkKey(key); err != nil {
		return 0, err
	}
	v, err := k.KV.Delete(k.ctx(ctx), k.key(key))
	if errors.Is(err, vkv.ErrNotFound) && k.is("delete-missing-ok") {
		return 0, nil
	}
	if err == nil && k.is("delete-version-stale") {
		v--
	}
	return k.version(v), k.err(err)
}

func (k *mutant) CompareAndDelete(ctx context.Context, key string, expected vkv.Version) (vkv.Version, error) {
	if err := k.checkKey(key); err != nil {
		return 0, err
	}
	v, err := k.KV.CompareAndDelete(k.ctx(ctx), k.key(key), expected)
	if errors.Is(err, vkv.ErrNotFound) && k.is("cad-missing-conflict") {
		err = &vkv.ConflictError{Key: key, Conflicts: []vkv.Conflict{{Key: key}}}
	}
	return k.version(v), k.err(err)
}

func (k *mutant) Update(ctx context.Context, fn func(tx vkv.Txn) error) (vkv.Version, error) {
	runs := 0
	var mt *mutantTxn
	v, err := k.KV.Update(k.ctx(ctx), func(tx vkv.Txn) error {
		runs++
		if runs > 1 && k.is("update-no-retry") {
			return &vkv.ConflictError{Key: "retry", Conflicts: []vkv.Conflict{{Key: "retry"}}}
		}
		mt = &mutantTxn{Txn: tx, k: k, ctx: ctx}
		return fn(mt)
	})
	if mt != nil {
		mt.done = true
	}
	if err != nil && k.is("update-fn-error-lost") {
		err = fmt.Errorf("update failed")
	}
	if err == nil && k.is("update-version-off") {
		v++
	}
	return k.version(v), k.err(err)
}

func (k *mutant) View(ctx context.Context, fn func(tx vkv.Txn) error) error {
	var mt *mutantTxn
	err := k.KV.View(k.ctx(ctx), func(tx vkv.Txn) error {
		mt = &mutantTxn{Txn: tx, k: k, ctx: ctx, view: true}
		return fn(mt)
	})
	if mt != nil {
		mt.done = true
	}
	return k.err(err)
}

func (k *mutant) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	err := k.KV.Close()
	if k.closed && k.is("close-twice-errors") {
		return errors.New("already closed")
	}
	k.closed = true
	return err
}

// mutantTxn is the Txn a mutant hands to transaction functions.
type mutantTxn struct {
	vkv.Txn
	k    *mutant
	ctx  context.Context
	view bool
	done bool
}

func (t *mutantTxn) Get(key string) (vkv.Entry, error) {
	if t.done && t.k.is("txn-never-done") {
		return vkv.Entry{}, vkv.ErrNotFound
	}
	if t.k.is("txn-get-committed", "txn-reads-unchecked") && !t.view || t.k.is("view-live") && t.view {
		return t.k.Get(t.ctx, key)
	}
	e, err := t.Txn.Get(t.k.key(key))
	if t.view && t.k.is("view-torn") && key == "pair/b" {
		// Read the second key of the pair outside the snapshot, after
		// giving writers a moment.
		time.Sleep(time.Millisecond)
		return t.k.Get(t.ctx, key)
	}
	return t.k.fixEntry(e), t.k.err(err)
}

func (t *mutantTxn) Put(key string, value []byte, opts ...vkv.WriteOption) error {
	if t.done && t.k.is("txn-never-done") {
		return nil
	}
	if t.view && t.k.is("view-writable") {
		return nil
	}
	if t.k.is("update-leaks-writes") {
		if _, err := t.k.KV.Put(t.ctx, key, value); err != nil {
			return err
		}
	}
	return t.Txn.Put(t.k.key(key), value, t.k.opts(opts)...)
}

func (t *mutantTxn) Delete(key string) error {
	if t.done && t.k.is("txn-never-done") {
		return nil
	}
	return t.Txn.Delete(t.k.key(key))
}

func (t *mutantTxn) Expect(key string, v vkv.Version) error {
	if t.done && t.k.is("txn-never-done") {
		return nil
	}
	return t.Txn.Expect(t.k.key(key), v)
}
