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

// node is one etcd member embedded in this process (server/v3/embed), with
// its client and peer URLs on 127.0.0.1 at free ports and its data in dir,
// configured as cmd/peers configures it, and the gRPC client both sides of
// the benchmark share.
type node struct {
	e   *embed.Etcd
	cli *clientv3.Client
}

// startNode starts the member. With sync etcd fsyncs its WAL and backend on
// every commit, its default; without, it runs as --unsafe-no-fsync.
func startNode(dir string, sync bool) (*node, error) {
	cp, err := freePort()
	if err != nil {
		return nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", cp)}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", pp)}
	cfg := embed.NewConfig()
	cfg.Name = "bench"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "fatal" // Close logs its closed listeners as errors
	cfg.UnsafeNoFsync = !sync
	srv, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-srv.Server.ReadyNotify():
	case err := <-srv.Err():
		srv.Close()
		return nil, err
	case <-time.After(60 * time.Second):
		srv.Close()
		return nil, errors.New("etcd: not ready after 60s")
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{clientURL.String()},
		DialTimeout: 10 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		srv.Close()
		return nil, err
	}
	// One request, so that the connection is up before anything is timed.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Get(ctx, "\x00"); err != nil {
		cli.Close()
		srv.Close()
		return nil, err
	}
	return &node{e: srv, cli: cli}, nil
}

func (n *node) close() {
	n.cli.Close()
	n.e.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
