package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/anishathalye/porcupine"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/vkvclient"
)

var (
	etcdBuildOnce sync.Once
	etcdBinPath   string
	etcdBuildErr  error
)

// etcdBinary builds etcd v3.7.3's server (the version the etcdtests module
// pins) once per test process and returns its path.
func etcdBinary(t *testing.T) string {
	t.Helper()
	etcdBuildOnce.Do(func() {
		etcdBinPath = filepath.Join(binDir, "etcd")
		cmd := exec.Command("go", "build", "-o", etcdBinPath, "go.etcd.io/etcd/server/v3")
		cmd.Dir = filepath.Join("..", "etcdtests")
		if out, err := cmd.CombinedOutput(); err != nil {
			etcdBuildErr = fmt.Errorf("go build go.etcd.io/etcd/server/v3 (in etcdtests): %v\n%s", err, out)
		}
	})
	if etcdBuildErr != nil {
		t.Fatal(etcdBuildErr)
	}
	return etcdBinPath
}

// etcdMember is one etcd server process of a test cluster.
type etcdMember struct {
	name, dir         string
	clientURL, peer   string
	initial           string // --initial-cluster
	cmd               *exec.Cmd
	done              chan struct{}
	logs              *logBuffer
	restarts, crashes int
}

// freeLoopbackPort returns a port nothing listens on at the moment.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startEtcdCluster starts n etcd processes on loopback and kills them when
// the test ends. Fsync is off: the faults injected are process kills, which
// the page cache survives.
func startEtcdCluster(t *testing.T, n int) []*etcdMember {
	t.Helper()
	bin := etcdBinary(t)
	var ms []*etcdMember
	var initial []string
	for i := range n {
		m := &etcdMember{
			name:      fmt.Sprintf("m%d", i),
			dir:       filepath.Join(t.TempDir(), "etcd"),
			clientURL: fmt.Sprintf("http://127.0.0.1:%d", freeLoopbackPort(t)),
			peer:      fmt.Sprintf("http://127.0.0.1:%d", freeLoopbackPort(t)),
		}
		initial = append(initial, m.name+"="+m.peer)
		ms = append(ms, m)
	}
	for _, m := range ms {
		m.initial = strings.Join(initial, ",")
		m.start(t, bin, "new")
	}
	t.Cleanup(func() {
		for _, m := range ms {
			m.kill()
		}
	})
	return ms
}

func (m *etcdMember) start(t *testing.T, bin, state string) {
	t.Helper()
	m.cmd = exec.Command(bin,
		"--name", m.name, "--data-dir", m.dir,
		"--listen-client-urls", m.clientURL, "--advertise-client-urls", m.clientURL,
		"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
		"--initial-cluster", m.initial, "--initial-cluster-state", state,
		"--initial-cluster-token", "vkv-reliability",
		"--heartbeat-interval", "50", "--election-timeout", "500",
		"--unsafe-no-fsync", "--log-level", "error")
	m.logs = &logBuffer{}
	m.cmd.Stdout, m.cmd.Stderr = m.logs, m.logs
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("starting etcd %s: %v", m.name, err)
	}
	m.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		close(done)
	}(m.cmd, m.done)
}

// kill sends SIGKILL and waits for the process to be gone.
func (m *etcdMember) kill() {
	if m.cmd == nil {
		return
	}
	select {
	case <-m.done:
	default:
		m.cmd.Process.Signal(syscall.SIGKILL)
		<-m.done
	}
}

// etcdClient returns a client of the members, closed when the test ends.
func etcdClient(t *testing.T, ms []*etcdMember) *clientv3.Client {
	t.Helper()
	var eps []string
	for _, m := range ms {
		eps = append(eps, m.clientURL)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// leader returns the member that is the Raft leader, asking each in turn.
func leader(ctx context.Context, cli *clientv3.Client, ms []*etcdMember) (*etcdMember, error) {
	for _, m := range ms {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := cli.Status(sctx, m.clientURL)
		cancel()
		if err == nil && st.Leader != 0 && st.Leader == st.Header.MemberId {
			return m, nil
		}
	}
	return nil, errors.New("no member says it is the leader")
}

// waitHealthy waits until the cluster answers a linearizable read.
func waitHealthy(t *testing.T, cli *clientv3.Client) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		_, err := cli.Get(ctx, "health")
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the etcd cluster did not become healthy within 60s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// spread is a vkv.KV that sends each call to the next of several replicas
// in turn: clients spread over interchangeable vkv serve processes.
type spread struct {
	kvs []vkv.KV
	n   atomic.Uint64
}

func (s *spread) next() vkv.KV { return s.kvs[s.n.Add(1)%uint64(len(s.kvs))] }

func (s *spread) Get(ctx context.Context, key string) (vkv.Entry, error) {
	return s.next().Get(ctx, key)
}
func (s *spread) GetAt(ctx context.Context, key string, v vkv.Version) (vkv.Entry, error) {
	return s.next().GetAt(ctx, key, v)
}
func (s *spread) List(ctx context.Context, prefix, after string, limit int) (vkv.ListResult, error) {
	return s.next().List(ctx, prefix, after, limit)
}
func (s *spread) ListAt(ctx context.Context, prefix, after string, limit int, v vkv.Version) (vkv.ListResult, error) {
	return s.next().ListAt(ctx, prefix, after, limit, v)
}
func (s *spread) History(ctx context.Context, key string, limit int) ([]vkv.Entry, error) {
	return s.next().History(ctx, key, limit)
}
func (s *spread) View(ctx context.Context, fn func(tx vkv.Txn) error) error {
	return s.next().View(ctx, fn)
}
func (s *spread) Put(ctx context.Context, key string, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	return s.next().Put(ctx, key, value, opts...)
}
func (s *spread) CompareAndSwap(ctx context.Context, key string, expected vkv.Version, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	return s.next().CompareAndSwap(ctx, key, expected, value, opts...)
}
func (s *spread) Delete(ctx context.Context, key string) (vkv.Version, error) {
	return s.next().Delete(ctx, key)
}
func (s *spread) CompareAndDelete(ctx context.Context, key string, expected vkv.Version) (vkv.Version, error) {
	return s.next().CompareAndDelete(ctx, key, expected)
}
func (s *spread) Update(ctx context.Context, fn func(tx vkv.Txn) error) (vkv.Version, error) {
	return s.next().Update(ctx, fn)
}
func (s *spread) Close() error { return nil }

// etcdSetup is a 3-member etcd cluster with two vkv serve replicas over it.
type etcdSetup struct {
	members  []*etcdMember
	cli      *clientv3.Client
	replicas []*vkvclient.Client
	kv       *spread
}

func startEtcdSetup(t *testing.T) *etcdSetup {
	t.Helper()
	ms := startEtcdCluster(t, 3)
	cli := etcdClient(t, ms)
	waitHealthy(t, cli)
	var eps []string
	for _, m := range ms {
		eps = append(eps, m.clientURL)
	}
	st := &etcdSetup{members: ms, cli: cli, kv: &spread{}}
	for range 2 {
		srv := startServer(t, vkvBinary(t), "", "-etcd", strings.Join(eps, ","), "-etcd-prefix", "rel/")
		t.Cleanup(func() { srv.stop(t) })
		c, err := vkvclient.New(srv.base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		st.replicas = append(st.replicas, c)
		st.kv.kvs = append(st.kv.kvs, c)
	}
	return st
}

// killLeaders kills the etcd leader and restarts it after down, each time
// progress passes the next of at (operation counts), until done closes. It
// returns the number of faults injected.
func (st *etcdSetup) killLeaders(t *testing.T, progress *atomic.Int64, at []int64, down time.Duration, faults chan<- int, done <-chan struct{}) int {
	bin := etcdBinary(t)
	n := 0
	for _, mark := range at {
		for progress.Load() < mark {
			select {
			case <-done:
				return n
			case <-time.After(5 * time.Millisecond):
			}
		}
		m, err := leader(t.Context(), st.cli, st.members)
		if err != nil {
			t.Logf("fault %d: %v; skipped", n+1, err)
			continue
		}
		m.kill()
		m.crashes++
		t.Logf("fault %d: killed the leader %s at %d operations", n+1, m.name, progress.Load())
		time.Sleep(down)
		m.start(t, bin, "existing")
		m.restarts++
		n++
		faults <- n
	}
	return n
}

// watcher follows every change under prefix, moving to the other replica
// after each fault with Last-Event-ID semantics (resuming from the last
// version it delivered), and records what it saw.
type watcher struct {
	mu     sync.Mutex
	seen   []vkv.Entry
	moves  int
	errors []error
}

func (w *watcher) run(ctx context.Context, replicas []*vkvclient.Client, prefix string, faults <-chan int) {
	var last vkv.Version
	r := 0
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(ctx)
		moved := make(chan struct{})
		go func() {
			select {
			case <-faults:
				close(moved)
				cancel()
			case <-wctx.Done():
			}
		}()
		events := replicas[r].Watch(wctx, prefix, last)
		w.drain(events, &last)
		cancel()
		select {
		case <-moved:
			w.mu.Lock()
			w.moves++
			w.mu.Unlock()
		default:
			time.Sleep(50 * time.Millisecond) // the stream ended on its own (a 5xx); reopen
		}
		r = (r + 1) % len(replicas)
	}
}

func (w *watcher) drain(events iter.Seq2[vkv.Entry, error], last *vkv.Version) {
	for e, err := range events {
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				w.mu.Lock()
				w.errors = append(w.errors, err)
				w.mu.Unlock()
			}
			return
		}
		w.mu.Lock()
		w.seen = append(w.seen, e)
		w.mu.Unlock()
		*last = e.Version
	}
}

// TestEtcdClusterFaults checks vkv over a 3-member etcd cluster while its
// leader is killed and restarted: clients spread over two vkv serve
// replicas; the history must be linearizable, every acknowledged write
// must be in the keys' history at the end, no version handed out twice,
// and a watch moved from one replica to the other after each fault sees
// every change exactly once.
func TestEtcdClusterFaults(t *testing.T) {
	if testing.Short() || raceEnabled {
		// The processes under test are built without the race detector;
		// the plain run of go test ./... runs this.
		t.Skip("-short or -race: builds and runs etcd and vkv serve (processes without the race detector)")
	}
	ops, faults := 10_000, 3
	if longMode() {
		ops, faults = 50_000, 10
	}
	st := startEtcdSetup(t)

	var progress atomic.Int64
	var at []int64
	for i := range faults {
		at = append(at, int64(ops*(i+1)/(faults+1)))
	}
	faultCh := make(chan int, faults)
	watchMoves := make(chan int, faults)
	done := make(chan struct{})
	injected := make(chan int, 1)
	go func() {
		fc := make(chan int, faults)
		go func() {
			for n := range fc {
				faultCh <- n
				watchMoves <- n
			}
		}()
		injected <- st.killLeaders(t, &progress, at, time.Second, fc, done)
		close(fc)
	}()

	wctx, stopWatch := context.WithCancel(t.Context())
	defer stopWatch()
	w := &watcher{}
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		w.run(wctx, st.replicas, "lin/", watchMoves)
	}()

	wl := workload{Clients: 8, Ops: ops, Keys: 3, Faults: true, Progress: &progress}
	h := wl.run(t, st.kv)
	close(done)
	n := <-injected
	t.Logf("%s; %d leader kills", h.summary(), n)
	if n < faults {
		t.Errorf("only %d of %d leader kills happened during the run", n, faults)
	}
	requireLinearizable(t, h, true)
	for _, u := range h.unexpected {
		t.Errorf("unexpected error: %s", u)
	}

	// Every acknowledged write is in its key's history, with its value.
	ctx := t.Context()
	hist := map[string]map[vkv.Version]vkv.Entry{}
	for _, k := range h.keys {
		es, err := st.replicas[0].History(ctx, k, 0)
		if err != nil {
			t.Fatalf("History(%s): %v", k, err)
		}
		hist[k] = map[vkv.Version]vkv.Entry{}
		for _, e := range es {
			hist[k][e.Version] = e
		}
	}
	acked := 0
	for _, op := range h.ops {
		in, out := op.Input.(kvInput), op.Output.(kvOutput)
		if out.Unknown || !in.Op.writes() || in.Op == opView || out.Status != stOK {
			continue
		}
		keys := []int{in.Key}
		if in.Op == opTxn {
			keys = append(keys, in.Key2)
		}
		for i, k := range keys {
			e, ok := hist[h.keys[k]][vkv.Version(out.Version)]
			want := in.Value
			if i == 1 {
				want = in.Value2
			}
			deleted := in.Op == opDelete || in.Op == opCAD
			switch {
			case !ok:
				t.Errorf("acknowledged %s: version %d is not in the history of %s", in.Op, out.Version, h.keys[k])
			case e.Deleted != deleted || (!deleted && string(e.Value) != want):
				t.Errorf("acknowledged %s at %d: history has %+v", in.Op, out.Version, e)
			}
			acked++
		}
	}
	t.Logf("%d acknowledged writes found in the history", acked)

	// The watch sees every change of the keys exactly once: end it after a
	// marker write it must deliver.
	mark, err := st.replicas[1].Put(ctx, "lin/zz-end", []byte("end"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		w.mu.Lock()
		var got vkv.Version
		if len(w.seen) > 0 {
			got = w.seen[len(w.seen)-1].Version
		}
		w.mu.Unlock()
		if got >= mark {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watch did not deliver the end marker (version %d) within 30s; it is at %d", mark, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopWatch()
	<-watchDone
	type change struct {
		key     string
		version vkv.Version
	}
	want := map[change]bool{{"lin/zz-end", mark}: true}
	for k, es := range hist {
		for v := range es {
			want[change{k, v}] = true
		}
	}
	got := map[change]int{}
	for _, e := range w.seen {
		got[change{e.Key, e.Version}]++
	}
	for c, n := range got {
		switch {
		case n > 1:
			t.Errorf("the watch delivered %s@%d %d times", c.key, c.version, n)
		case !want[c]:
			t.Errorf("the watch delivered %s@%d, which is not in the history", c.key, c.version)
		}
	}
	for c := range want {
		if got[c] == 0 {
			t.Errorf("the watch missed %s@%d", c.key, c.version)
		}
	}
	t.Logf("watch: %d changes, moved between replicas %d times, stream errors %v", len(w.seen), w.moves, w.errors)
	if w.moves < n {
		t.Errorf("the watch moved %d times, want one move per fault (%d)", w.moves, n)
	}
	for _, m := range st.members {
		if m.crashes > 0 {
			t.Logf("etcd %s: killed %d times", m.name, m.crashes)
		}
	}
}

// staleRevision is a broken replica set: Get is served from a revision a
// few versions behind the newest one its clients have seen, as a replica
// reading from a lagging etcd member without a quorum read would.
type staleRevision struct {
	*spread
	newest atomic.Uint64
}

func (s *staleRevision) saw(v vkv.Version, err error) (vkv.Version, error) {
	if err == nil {
		for {
			cur := s.newest.Load()
			if uint64(v) <= cur || s.newest.CompareAndSwap(cur, uint64(v)) {
				break
			}
		}
	}
	return v, err
}

func (s *staleRevision) Get(ctx context.Context, key string) (vkv.Entry, error) {
	if n := s.newest.Load(); n > 5 {
		e, err := s.GetAt(ctx, key, vkv.Version(n-5))
		if err == nil && e.Deleted {
			return vkv.Entry{}, vkv.ErrNotFound
		}
		return e, err
	}
	return s.spread.Get(ctx, key)
}

func (s *staleRevision) Put(ctx context.Context, key string, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	return s.saw(s.spread.Put(ctx, key, value, opts...))
}

func (s *staleRevision) CompareAndSwap(ctx context.Context, key string, expected vkv.Version, value []byte, opts ...vkv.WriteOption) (vkv.Version, error) {
	return s.saw(s.spread.CompareAndSwap(ctx, key, expected, value, opts...))
}

func (s *staleRevision) Delete(ctx context.Context, key string) (vkv.Version, error) {
	return s.saw(s.spread.Delete(ctx, key))
}

func (s *staleRevision) CompareAndDelete(ctx context.Context, key string, expected vkv.Version) (vkv.Version, error) {
	return s.saw(s.spread.CompareAndDelete(ctx, key, expected))
}

// TestEtcdClusterNegativeControl runs the cluster test's workload, with a
// leader kill, through replicas that serve reads from a stale revision, and
// requires the checker to call the history illegal.
func TestEtcdClusterNegativeControl(t *testing.T) {
	if testing.Short() || raceEnabled {
		// The processes under test are built without the race detector;
		// the plain run of go test ./... runs this.
		t.Skip("-short or -race: builds and runs etcd and vkv serve (processes without the race detector)")
	}
	st := startEtcdSetup(t)
	for try := 1; ; try++ {
		var progress atomic.Int64
		done := make(chan struct{})
		injected := make(chan int, 1)
		faults := make(chan int, 1)
		const ops = 2000
		go func() { injected <- st.killLeaders(t, &progress, []int64{ops / 2}, time.Second, faults, done) }()
		wl := workload{Clients: 8, Ops: ops, Keys: 3, Faults: true, Progress: &progress}
		h := wl.run(t, &staleRevision{spread: st.kv})
		close(done)
		<-injected
		v := check(t, h, true, t.TempDir())
		if v.result == porcupine.Illegal {
			t.Logf("as required, the checker found the history illegal (%s)", h.summary())
			return
		}
		if try == 3 {
			t.Fatalf("the checker found %d histories of stale-revision replicas linearizable (last: %s)", try, h.summary())
		}
		t.Logf("try %d: the stale reads did not show; again", try)
	}
}
