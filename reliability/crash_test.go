package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvclient"
	"github.com/vkvstore/vkv/wire"
)

// Crash test sizes.
const (
	crashCycles     = 3  // SIGKILL cycles in a normal run
	crashCyclesLong = 25 // in the long mode (VKV_LONG=1 or -long)
	crashWriters    = 6  // concurrent writers
	crashHotKeys    = 4  // keys every writer updates with CAS
)

// ack is a write the server acknowledged.
type ack struct {
	key     string
	value   string
	version vkv.Version
	deleted bool
	cycle   int
}

// ledger records what the crash test wrote and what was acknowledged.
type ledger struct {
	mu        sync.Mutex
	acks      []ack
	byVersion map[vkv.Version]ack
	// attempted maps every value a writer sent to its key, acknowledged
	// or not: a value found in the store must be one of them.
	attempted map[string]string
	// maxAcked is the highest acknowledged version; maxBefore the highest
	// acknowledged before the current cycle began.
	maxAcked, maxBefore vkv.Version
	cycle               int
	violations          []string
	conflicts, failed   int
}

func (l *ledger) violate(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.violations = append(l.violations, fmt.Sprintf(format, args...))
}

func (l *ledger) attempt(key, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempted[value] = key
}

// acknowledge records a and checks, at once, that its version is new and
// above every version acknowledged before the last restart.
func (l *ledger) acknowledge(a ack) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a.cycle = l.cycle
	if prev, dup := l.byVersion[a.version]; dup {
		l.violations = append(l.violations, fmt.Sprintf("version %d handed out twice: %s=%q (cycle %d) and %s=%q (cycle %d)",
			a.version, prev.key, prev.value, prev.cycle, a.key, a.value, a.cycle))
	}
	if a.version <= l.maxBefore {
		l.violations = append(l.violations, fmt.Sprintf("cycle %d acknowledged %s=%q at version %d, not above version %d acknowledged before the restart",
			a.cycle, a.key, a.value, a.version, l.maxBefore))
	}
	l.byVersion[a.version] = a
	l.acks = append(l.acks, a)
	l.maxAcked = max(l.maxAcked, a.version)
}

// TestCrashRecovery kills a durable vkv server with SIGKILL at random moments
// while writers run, restarts it on the same directory and checks that
// nothing acknowledged was lost and no version was handed out twice.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: does not build and run the binary")
	}
	cycles := crashCycles
	if longMode() {
		cycles = crashCyclesLong
	}
	bin := vkvBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("crash recovery: %d cycles, %d writers, seed %d, data in %s", cycles, crashWriters, seed, dir)
	led := &ledger{byVersion: map[vkv.Version]ack{}, attempted: map[string]string{}}
	start := time.Now()
	kills := map[string]int{}

	for cycle := 1; cycle <= cycles; cycle++ {
		led.mu.Lock()
		led.cycle, led.maxBefore = cycle, led.maxAcked
		led.mu.Unlock()

		// Sometimes kill the server while it opens the store, before it
		// listens.
		if cycle > 1 && rng.IntN(4) == 0 {
			s := launch(t, bin, dir)
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
			s.kill()
			kills["while opening"]++
		}

		s := startServer(t, bin, dir)
		c, err := vkvclient.New(s.base)
		if err != nil {
			t.Fatal(err)
		}
		checkServerLog(t, s)
		if cycle > 1 {
			verifyCrashState(t, c, led, false)
		}
		if reportViolations(t, led) {
			c.Close()
			t.FailNow()
		}

		// Writers run until the server is killed.
		stop := startWriters(c, led, cycle, uint64(seed))
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		if rng.IntN(5) == 0 {
			// A graceful shutdown cut short: SIGTERM, then SIGKILL while
			// the server drains requests and closes the store.
			s.cmd.Process.Signal(syscall.SIGTERM)
			time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
			kills["during shutdown"]++
		} else {
			kills["under load"]++
		}
		s.kill()
		stop()
		c.Close()
		led.mu.Lock()
		t.Logf("cycle %d: %d writes acknowledged so far, %d conflicts, %d writes cut off by the kill", cycle, len(led.acks), led.conflicts, led.failed)
		led.mu.Unlock()
	}

	// A last restart: check everything, GetAt included, then stop cleanly
	// and check again after a clean restart.
	led.mu.Lock()
	led.cycle, led.maxBefore = cycles+1, led.maxAcked
	led.mu.Unlock()
	for _, clean := range []bool{false, true} {
		s := startServer(t, bin, dir)
		c, err := vkvclient.New(s.base)
		if err != nil {
			t.Fatal(err)
		}
		checkServerLog(t, s)
		verifyCrashState(t, c, led, true)
		if !clean {
			// Versions go on after the crashes.
			v, err := c.Put(context.Background(), "crash/after", []byte("after"))
			if err != nil {
				t.Errorf("Put after the last restart: %v", err)
			} else {
				led.acknowledge(ack{key: "crash/after", value: "after", version: v})
			}
		}
		c.Close()
		s.stop(t)
	}
	reportViolations(t, led)
	t.Logf("crash recovery: %d cycles (kills: %v), %d acknowledged writes (%d keys), highest version %d, %d conflicts, %d writes cut off; all checked in %v",
		cycles, kills, len(led.acks), countKeys(led.acks), led.maxAcked, led.conflicts, led.failed, time.Since(start).Round(time.Millisecond))
}

// reportViolations reports the ledger's violations as errors of t and
// says whether there were any.
func reportViolations(t *testing.T, led *ledger) bool {
	t.Helper()
	led.mu.Lock()
	defer led.mu.Unlock()
	for i, v := range led.violations {
		if i == 20 {
			t.Errorf("... and %d more violations", len(led.violations)-20)
			break
		}
		t.Error(v)
	}
	return len(led.violations) > 0
}

func countKeys(acks []ack) int {
	keys := map[string]bool{}
	for _, a := range acks {
		keys[a.key] = true
	}
	return len(keys)
}

// checkServerLog fails t if the server logged an error while opening.
func checkServerLog(t *testing.T, s *server) {
	t.Helper()
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("server logged an error: %s", line)
		}
	}
}

// startWriters starts crashWriters writers on c; the function it returns
// stops them and waits for them.
func startWriters(c *vkvclient.Client, led *ledger, cycle int, seed uint64) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			crashWriter(ctx, c, led, cycle, w, seed)
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

func hotKey(i int) string { return fmt.Sprintf("crash/hot/%d", i) }

// crashWriter writes until ctx ends or the server goes away: CAS on the hot
// keys (from the version it last saw), create-only writes of fresh keys, and
// now and then a CompareAndDelete of a hot key.
func crashWriter(ctx context.Context, c *vkvclient.Client, led *ledger, cycle, w int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(cycle*100+w)))
	seen := make([]vkv.Version, crashHotKeys)
	for i := 0; ctx.Err() == nil; i++ {
		value := fmt.Sprintf("c%d/w%d/%d", cycle, w, i)
		var (
			key      string
			v        vkv.Version
			err      error
			deleted  bool
			hot      = -1
			expected vkv.Version
		)
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		switch n := rng.IntN(100); {
		case n < 20:
			key = fmt.Sprintf("crash/fresh/c%03d/w%d/%06d", cycle, w, i)
			led.attempt(key, value)
			v, err = c.CompareAndSwap(rctx, key, 0, []byte(value))
		case n < 25:
			hot = rng.IntN(crashHotKeys)
			key, expected, deleted = hotKey(hot), seen[hot], true
			v, err = c.CompareAndDelete(rctx, key, expected)
		default:
			hot = rng.IntN(crashHotKeys)
			key, expected = hotKey(hot), seen[hot]
			led.attempt(key, value)
			v, err = c.CompareAndSwap(rctx, key, expected, []byte(value))
		}
		cancel()
		var ce *vkv.ConflictError
		switch {
		case err == nil:
			if deleted {
				value = ""
				if hot >= 0 {
					seen[hot] = 0
				}
			} else if hot >= 0 {
				seen[hot] = v
			}
			led.acknowledge(ack{key: key, value: value, version: v, deleted: deleted})
		case errors.As(err, &ce):
			if hot >= 0 {
				seen[hot] = ce.Actual
			}
			led.mu.Lock()
			led.conflicts++
			led.mu.Unlock()
		case errors.Is(err, vkv.ErrNotFound) && deleted:
			// CompareAndDelete expecting 0 of an absent key.
		default:
			// The server is gone (or going): the outcome is unknown.
			led.mu.Lock()
			led.failed++
			led.mu.Unlock()
			if ctx.Err() == nil {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
}

// verifyCrashState checks the store after a restart against the ledger and
// records what is wrong as violations of the ledger. With getAt, every
// acknowledged write is also read back with GetAt.
func verifyCrashState(t *testing.T, c *vkvclient.Client, led *ledger, getAt bool) {
	t.Helper()
	ctx := context.Background()
	led.mu.Lock()
	acks := append([]ack(nil), led.acks...)
	attempted := make(map[string]string, len(led.attempted))
	for v, k := range led.attempted {
		attempted[v] = k
	}
	maxAcked := led.maxAcked
	led.mu.Unlock()

	// The counter is not behind anything acknowledged.
	if sv := storeVersion(t, c); sv < maxAcked {
		led.violate("after restart the store is at version %d, below the acknowledged version %d", sv, maxAcked)
	}

	// The state of every key: the full history of the hot keys, the
	// current entry of the fresh keys.
	owner := map[vkv.Version]string{} // version -> key, over everything stored
	record := func(key string, v vkv.Version) {
		if k, dup := owner[v]; dup && k != key {
			led.violate("version %d is held by two keys: %s and %s", v, k, key)
		}
		owner[v] = key
	}
	type stored struct {
		value   string
		deleted bool
	}
	history := map[string]map[vkv.Version]stored{}
	latest := map[string]vkv.Version{}
	for i := range crashHotKeys {
		key := hotKey(i)
		h, err := c.History(ctx, key, 0)
		if err != nil {
			t.Fatalf("History(%s) after restart: %v", key, err)
		}
		history[key] = map[vkv.Version]stored{}
		for j, e := range h {
			if j > 0 && e.Version >= h[j-1].Version {
				led.violate("history of %s not newest first: version %d after %d", key, e.Version, h[j-1].Version)
			}
			if !e.Deleted && attempted[string(e.Value)] != key {
				led.violate("%s holds %q at version %d: no writer wrote that to it", key, e.Value, e.Version)
			}
			history[key][e.Version] = stored{string(e.Value), e.Deleted}
			record(key, e.Version)
		}
		if len(h) > 0 {
			latest[key] = h[0].Version
			cur, err := c.Get(ctx, key)
			switch {
			case h[0].Deleted && !errors.Is(err, vkv.ErrNotFound):
				led.violate("%s: history ends with a delete at %d but Get gives %v, %v", key, h[0].Version, cur.Version, err)
			case !h[0].Deleted && err != nil:
				led.violate("%s: history ends with %q at %d but Get fails: %v", key, h[0].Value, h[0].Version, err)
			case !h[0].Deleted:
				if d := cmp.Diff(h[0], cur, cmpopts.EquateEmpty()); d != "" {
					led.violate("%s: Get disagrees with the newest history entry (-history +get):\n%s", key, d)
				}
			}
		}
	}
	after := ""
	for {
		lr, err := c.List(ctx, "crash/fresh/", after, vkv.MaxListLimit)
		page, next := lr.Entries, lr.Next
		if err != nil {
			t.Fatalf("List after restart: %v", err)
		}
		for _, e := range page {
			if attempted[string(e.Value)] != e.Key {
				led.violate("%s holds %q at version %d: no writer wrote that to it", e.Key, e.Value, e.Version)
			}
			history[e.Key] = map[vkv.Version]stored{e.Version: {value: string(e.Value)}}
			latest[e.Key] = e.Version
			record(e.Key, e.Version)
		}
		if next == "" {
			break
		}
		after = next
	}

	// Every acknowledged write is there, with its value, and no key is
	// behind a version acknowledged for it.
	lost := 0
	for _, a := range acks {
		if a.key == "crash/after" {
			continue
		}
		if latest[a.key] < a.version {
			led.violate("%s is at version %d, below the acknowledged version %d (%q, cycle %d)", a.key, latest[a.key], a.version, a.value, a.cycle)
			lost++
			continue
		}
		got, ok := history[a.key][a.version]
		switch {
		case !ok:
			// The history of hot keys is kept in full (far fewer
			// versions than Options.HistoryVersions), and fresh keys
			// are written once: the write is lost.
			led.violate("acknowledged write %s=%q at version %d (cycle %d) is not in the store", a.key, a.value, a.version, a.cycle)
			lost++
		case got.deleted != a.deleted || got.value != a.value:
			led.violate("version %d of %s holds %+v, but %q (deleted %t) was acknowledged", a.version, a.key, got, a.value, a.deleted)
		}
		if lost > 20 {
			led.violate("more than 20 acknowledged writes lost; stopped looking")
			break
		}
	}
	if !getAt {
		return
	}
	// GetAt agrees with the acknowledged writes.
	for _, a := range acks {
		if a.key == "crash/after" {
			continue
		}
		e, err := c.GetAt(ctx, a.key, a.version)
		switch {
		case a.deleted && !errors.Is(err, vkv.ErrNotFound):
			led.violate("GetAt(%s, %d) after an acknowledged delete: %q, %v", a.key, a.version, e.Value, err)
		case !a.deleted && (err != nil || string(e.Value) != a.value || e.Version != a.version):
			led.violate("GetAt(%s, %d) = %q at %d, %v; acknowledged %q", a.key, a.version, e.Value, e.Version, err, a.value)
		}
	}
	t.Logf("verified %d acknowledged writes against %d stored versions of %d keys", len(acks), len(owner), len(history))
}

// storeVersion asks /healthz for the store's newest version.
func storeVersion(t *testing.T, c *vkvclient.Client) vkv.Version {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.Endpoint()+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true // leave no idle connection behind
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	resp.Body.Close()
	v, err := vkv.ParseVersion(resp.Header.Get(wire.HeaderStoreVersion))
	if err != nil {
		t.Fatalf("/healthz %s: %v", wire.HeaderStoreVersion, err)
	}
	return v
}

// TestCrashRecoveryNegativeControl restarts the server on a stale copy of
// its directory, as a store that lost its newest acknowledged writes would
// come back, and requires the crash checks to report the lost writes and
// the versions handed out again.
func TestCrashRecoveryNegativeControl(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: does not build and run the binary")
	}
	bin := vkvBinary(t)
	dir := filepath.Join(t.TempDir(), "data")
	stale := filepath.Join(t.TempDir(), "stale")
	seed := uint64(time.Now().UnixNano())
	led := &ledger{byVersion: map[vkv.Version]ack{}, attempted: map[string]string{}}

	// phase runs the writers against a server on d for a while.
	phase := func(cycle int, d string, kill bool) {
		led.mu.Lock()
		led.cycle, led.maxBefore = cycle, led.maxAcked
		led.mu.Unlock()
		s := startServer(t, bin, d)
		c, err := vkvclient.New(s.base)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if cycle > 1 {
			verifyCrashState(t, c, led, false)
		}
		stop := startWriters(c, led, cycle, seed)
		time.Sleep(200 * time.Millisecond)
		if kill {
			s.kill()
			stop()
		} else {
			stop()
			s.stop(t)
		}
	}
	phase(1, dir, false)
	if err := copyDir(dir, stale); err != nil {
		t.Fatal(err)
	}
	phase(2, dir, true)
	led.mu.Lock()
	if len(led.violations) > 0 {
		t.Fatalf("violations before the stale restart: %q", led.violations)
	}
	before := len(led.acks)
	led.mu.Unlock()
	// The stale restart: the writes acknowledged in phase 2 are gone.
	phase(3, stale, true)

	led.mu.Lock()
	defer led.mu.Unlock()
	var lost, reused int
	for _, v := range led.violations {
		switch {
		case strings.Contains(v, "is not in the store"), strings.Contains(v, "below the acknowledged version"):
			lost++
		case strings.Contains(v, "handed out twice"), strings.Contains(v, "not above version"):
			reused++
		}
	}
	t.Logf("stale restart after %d acknowledged writes: %d violations, %d about lost writes, %d about reused versions; first: %q",
		before, len(led.violations), lost, reused, first(led.violations))
	if lost == 0 {
		t.Errorf("the crash checks did not notice acknowledged writes lost by the stale restart")
	}
	if reused == 0 {
		t.Errorf("the crash checks did not notice versions handed out again after the stale restart")
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// copyDir copies the regular files of the directory tree src to dst.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
