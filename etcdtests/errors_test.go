package etcdtests

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/etcdkv"
)

// TestUnreachable: with no etcd at the address, reads fail with
// vkv.ErrUnavailable and writes with vkv.ErrOutcomeUnknown or
// vkv.ErrUnavailable, within the request timeout: never a hang, never a
// write reported as not done that might have been.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	kv, err := etcdkv.Dial(clientv3.Config{Endpoints: []string{"http://" + addr}, Logger: zap.NewNop()}, "u/",
		&etcdkv.Options{RequestTimeout: 300 * time.Millisecond, NoReaper: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	ctx := context.Background()
	calls := []struct {
		name  string
		write bool
		call  func() error
	}{
		{"Get", false, func() error { _, err := kv.Get(ctx, "k"); return err }},
		{"List", false, func() error { _, err := kv.List(ctx, "", "", 0); return err }},
		{"History", false, func() error { _, err := kv.History(ctx, "k", 0); return err }},
		{"Put", true, func() error { _, err := kv.Put(ctx, "k", []byte("v")); return err }},
		{"Update", true, func() error {
			_, err := kv.Update(ctx, func(tx vkv.Txn) error { return tx.Put("k", []byte("v")) })
			return err
		}},
	}
	for _, c := range calls {
		start := time.Now()
		err := c.call()
		took := time.Since(start)
		ok := errors.Is(err, vkv.ErrUnavailable) || (c.write && errors.Is(err, vkv.ErrOutcomeUnknown))
		if !ok {
			t.Errorf("%s with the cluster unreachable: %v; want vkv.ErrUnavailable%s", c.name, err, map[bool]string{true: " or vkv.ErrOutcomeUnknown"}[c.write])
		}
		if took > 3*time.Second {
			t.Errorf("%s took %v with a request timeout of 300ms", c.name, took)
		}
		t.Logf("%s: %v after %v", c.name, err, took.Round(time.Millisecond))
	}
	// A context deadline shorter than the request timeout is kept.
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := kv.Get(dctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get with a 50ms deadline: %v, want context.DeadlineExceeded", err)
	}
}

// TestQuorumLost: a 3-member cluster with two members stopped serves no
// linearizable read or write; each call returns a typed error within the
// request timeout, and once the members are back the KV works again.
func TestQuorumLost(t *testing.T) {
	c := StartCluster(t, 3)
	kv, err := etcdkv.New(c.Client(t), "q/", &etcdkv.Options{RequestTimeout: 500 * time.Millisecond, NoReaper: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	ctx := context.Background()
	v0, err := kv.Put(ctx, "k", []byte("before"))
	if err != nil {
		t.Fatal(err)
	}
	c.Members[1].Stop()
	c.Members[2].Stop()
	for i, call := range []func() error{
		func() error { _, err := kv.Get(ctx, "k"); return err },
		func() error { _, err := kv.CompareAndSwap(ctx, "k", v0, []byte("during")); return err },
	} {
		start := time.Now()
		err := call()
		if !errors.Is(err, vkv.ErrUnavailable) && !(i == 1 && errors.Is(err, vkv.ErrOutcomeUnknown)) {
			t.Errorf("call %d without quorum: %v, want a typed unavailable/unknown-outcome error", i, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("call %d took %v", i, took)
		}
		t.Logf("call %d without quorum: %v", i, err)
	}
	for _, m := range c.Members[1:] {
		if err := m.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	// The CAS may or may not have been applied: its outcome was unknown.
	// Either way the key is readable, at v0 or at a later version.
	var e vkv.Entry
	deadline := time.Now().Add(30 * time.Second)
	for {
		e, err = kv.Get(ctx, "k")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Get after the quorum came back: %v", err)
	}
	if got := string(e.Value); e.Version == v0 && got != "before" || e.Version > v0 && got != "during" {
		t.Errorf("after the quorum came back: %q at %d (wrote %q at %d)", got, e.Version, "before", v0)
	}
	t.Logf("after the quorum came back: %q at %d (the CAS of unknown outcome %s)", e.Value, e.Version,
		map[bool]string{true: "was applied", false: "was not applied"}[e.Version > v0])
}
