package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// etcdEngine is a single-node etcd embedded in the process (server/v3/embed),
// listening on 127.0.0.1 on free ports, and reached through the ordinary gRPC
// client over loopback, as an application would. etcd fsyncs its WAL and
// backend on every commit; the no-fsync configuration is its
// --unsafe-no-fsync (Config.UnsafeNoFsync). Reads are etcd's default,
// linearizable. CAS is a Txn: if the key's ModRevision is the expected one,
// put; else get, so a failed CAS returns the current revision at no extra
// round trip. Versions are etcd's store-wide revisions.
type etcdEngine struct {
	clientURL, peerURL url.URL // kept across reopens: the member's peer URL is stored
	e                  *embed.Etcd
	cli                *clientv3.Client
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func newEtcdEngine() (*etcdEngine, error) {
	cp, err := freePort()
	if err != nil {
		return nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	return &etcdEngine{
		clientURL: url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", cp)},
		peerURL:   url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", pp)},
	}, nil
}

func (e *etcdEngine) open(dir string, sync bool) error {
	cfg := embed.NewConfig()
	cfg.Name = "bench"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{e.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{e.clientURL}
	cfg.ListenPeerUrls = []url.URL{e.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{e.peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "fatal" // Close logs its closed listeners as errors
	cfg.UnsafeNoFsync = !sync
	srv, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	select {
	case <-srv.Server.ReadyNotify():
	case err := <-srv.Err():
		srv.Close()
		return err
	case <-time.After(60 * time.Second):
		srv.Close()
		return errors.New("etcd: not ready after 60s")
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{e.clientURL.String()},
		DialTimeout: 10 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		srv.Close()
		return err
	}
	e.e, e.cli = srv, cli
	return nil
}

func (e *etcdEngine) close() error {
	err := e.cli.Close()
	e.e.Close()
	return err
}

func (e *etcdEngine) load(keys []key, value []byte, vers []uint64) error {
	ctx := context.Background()
	val := string(value)
	ops := make([]clientv3.Op, 0, 100)
	for i := 0; i < len(keys); i += 100 {
		end := min(i+100, len(keys))
		ops = ops[:0]
		for _, k := range keys[i:end] {
			ops = append(ops, clientv3.OpPut(k.s, val))
		}
		resp, err := e.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return err
		}
		for j := i; j < end; j++ {
			vers[j] = uint64(resp.Header.Revision)
		}
	}
	return nil
}

var errEtcdNotFound = errors.New("etcd: key not found")

func (e *etcdEngine) get(k key) ([]byte, error) {
	resp, err := e.cli.Get(context.Background(), k.s)
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) == 0 {
		return nil, errEtcdNotFound
	}
	return resp.Kvs[0].Value, nil
}

func (e *etcdEngine) version(k key) (uint64, error) {
	resp, err := e.cli.Get(context.Background(), k.s)
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return uint64(resp.Kvs[0].ModRevision), nil
}

func (e *etcdEngine) cas(k key, expected uint64, value []byte) (uint64, bool, error) {
	resp, err := e.cli.Txn(context.Background()).
		If(clientv3.Compare(clientv3.ModRevision(k.s), "=", int64(expected))).
		Then(clientv3.OpPut(k.s, string(value))).
		Else(clientv3.OpGet(k.s)).
		Commit()
	if err != nil {
		return 0, false, err
	}
	if resp.Succeeded {
		return uint64(resp.Header.Revision), true, nil
	}
	var cur uint64
	if r := resp.Responses[0].GetResponseRange(); r != nil && len(r.Kvs) > 0 {
		cur = uint64(r.Kvs[0].ModRevision)
	}
	return cur, false, nil
}

func (e *etcdEngine) storeVersion() (uint64, error) {
	resp, err := e.cli.Get(context.Background(), "\x00")
	if err != nil {
		return 0, err
	}
	return uint64(resp.Header.Revision), nil
}
