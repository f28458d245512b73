package etcdtests

import (
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/etcdkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/vkvclient"
	"github.com/vkvstore/vkv/vkvtest"
)

var prefixes atomic.Int64

// newPrefix returns a namespace no other KV of the test process uses, so
// that every case of the suite starts on an empty store.
func newPrefix() string { return fmt.Sprintf("vkvtest/%d/", prefixes.Add(1)) }

// TestConformance runs the suite on etcdkv over one embedded etcd member,
// on a fake clock.
func TestConformance(t *testing.T) {
	c := StartCluster(t, 1)
	cli := c.Client(t)
	vkvtest.RunWithClock(t, func(t *testing.T, clock vkv.Clock) vkv.KV {
		kv, err := etcdkv.New(cli, newPrefix(), &etcdkv.Options{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { kv.Close() })
		return kv
	})
}

// TestConformanceHTTP runs the suite through vkvclient against httpapi
// serving etcdkv over one embedded etcd member: vkv serve -etcd as a
// client sees it.
func TestConformanceHTTP(t *testing.T) {
	c := StartCluster(t, 1)
	cli := c.Client(t)
	vkvtest.RunWithClock(t, func(t *testing.T, clock vkv.Clock) vkv.KV {
		kv, err := etcdkv.New(cli, newPrefix(), &etcdkv.Options{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(httpapi.New(kv))
		client, err := vkvclient.New(srv.URL, vkvclient.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			client.Close()
			srv.Close()
			kv.Close()
		})
		return client
	})
}
