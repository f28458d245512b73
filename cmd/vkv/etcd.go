package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/vkvstore/vkv/etcdkv"
)

// etcdFlags are vkv serve's flags for running on an etcd cluster, named
// after etcdctl's (--endpoints, --cacert, --cert, --key, --user).
type etcdFlags struct {
	endpoints       string
	prefix          string
	cacert          string
	cert            string
	key             string
	user            string
	passwordFile    string
	dialTimeout     time.Duration
	maxTxnOps       int
	maxRequestBytes int
}

func (f *etcdFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.endpoints, "etcd", "", "serve from an etcd cluster at these comma-separated client `URLs` (e.g. http://10.0.0.1:2379,http://10.0.0.2:2379) instead of a local directory")
	fs.StringVar(&f.prefix, "etcd-prefix", "vkv/", "with -etcd: the key `prefix` vkv's data lives under, so that it can share the cluster")
	fs.StringVar(&f.cacert, "etcd-cacert", "", "with -etcd: verify the cluster's TLS certificates with this CA bundle `file` (as etcdctl --cacert)")
	fs.StringVar(&f.cert, "etcd-cert", "", "with -etcd: identify to the cluster with this TLS client certificate `file` (as etcdctl --cert)")
	fs.StringVar(&f.key, "etcd-key", "", "with -etcd: the key `file` of -etcd-cert (as etcdctl --key)")
	fs.StringVar(&f.user, "etcd-user", "", "with -etcd: authenticate to the cluster as this `user` (as etcdctl --user; the password comes from -etcd-password-file)")
	fs.StringVar(&f.passwordFile, "etcd-password-file", "", "with -etcd-user: `file` holding the user's password")
	fs.DurationVar(&f.dialTimeout, "etcd-dial-timeout", 5*time.Second, "with -etcd: how long to wait for the first connection to the cluster")
	fs.IntVar(&f.maxTxnOps, "etcd-max-txn-ops", etcdkv.DefaultEtcdMaxTxnOps, "with -etcd: the cluster's --max-txn-ops `n` (the largest vkv transaction is derived from it)")
	fs.IntVar(&f.maxRequestBytes, "etcd-max-request-bytes", etcdkv.DefaultEtcdMaxRequestBytes, "with -etcd: the cluster's --max-request-bytes `n`")
}

// setFlags returns those of names that were set on the command line.
func setFlags(fs *flag.FlagSet, names ...string) []string {
	var set []string
	fs.Visit(func(f *flag.Flag) {
		for _, n := range names {
			if f.Name == n {
				set = append(set, n)
			}
		}
	})
	return set
}

// checkUnused refuses -etcd-* flags given without -etcd.
func (f *etcdFlags) checkUnused(fs *flag.FlagSet, stderr io.Writer) error {
	var set []string
	fs.Visit(func(fl *flag.Flag) {
		if strings.HasPrefix(fl.Name, "etcd-") {
			set = append(set, fl.Name)
		}
	})
	if len(set) > 0 {
		fmt.Fprintf(stderr, "vkv serve: -%s needs -etcd (the cluster's client URLs)\n", set[0])
		return errUsage
	}
	return nil
}

// open connects to the cluster and returns the KV over it.
func (f *etcdFlags) open(logger *slog.Logger) (*etcdkv.KV, error) {
	var endpoints []string
	for e := range strings.SplitSeq(f.endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			endpoints = append(endpoints, e)
		}
	}
	if len(endpoints) == 0 {
		return nil, errors.New("-etcd: no endpoints; give the cluster's client URLs, such as http://127.0.0.1:2379")
	}
	cfg := clientv3.Config{Endpoints: endpoints, DialTimeout: f.dialTimeout, Logger: zap.NewNop()}
	if f.cacert != "" || f.cert != "" || f.key != "" {
		if (f.cert == "") != (f.key == "") {
			return nil, errors.New("-etcd-cert and -etcd-key go together: give both or neither")
		}
		tls, err := transport.TLSInfo{CertFile: f.cert, KeyFile: f.key, TrustedCAFile: f.cacert}.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd TLS: %w", err)
		}
		cfg.TLS = tls
	}
	if f.user != "" {
		cfg.Username = f.user
		if f.passwordFile != "" {
			b, err := os.ReadFile(f.passwordFile)
			if err != nil {
				return nil, fmt.Errorf("reading the etcd password: %w", err)
			}
			cfg.Password = strings.TrimRight(string(b), "\r\n")
		}
	} else if f.passwordFile != "" {
		return nil, errors.New("-etcd-password-file needs -etcd-user")
	}
	kv, err := etcdkv.Dial(cfg, f.prefix, &etcdkv.Options{
		EtcdMaxTxnOps:       f.maxTxnOps,
		EtcdMaxRequestBytes: f.maxRequestBytes,
		Logger:              logger,
	})
	if err != nil {
		return nil, err
	}
	// Fail at start, with the addresses, rather than at the first request.
	ctx, cancel := context.WithTimeout(context.Background(), f.dialTimeout)
	defer cancel()
	if _, err := kv.CurrentVersion(ctx); err != nil {
		kv.Close()
		return nil, fmt.Errorf("cannot reach the etcd cluster at %s within -etcd-dial-timeout %v: %w", strings.Join(endpoints, ","), f.dialTimeout, err)
	}
	return kv, nil
}
