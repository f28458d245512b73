package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// replica is one vkv serve -etcd process, run from the vkv binary with its
// defaults (request log at Info, here to a file in the cell's directory;
// metrics on), listening on a free loopback port.
type replica struct {
	cmd  *exec.Cmd
	addr string
	log  *os.File
	done chan error
}

// startReplica starts vkv serve -etcd on the member at etcdAddr (host:port)
// and waits until its /healthz answers 200.
func startReplica(bin, dir string, i int, etcdAddr string) (*replica, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	log, err := os.Create(filepath.Join(dir, fmt.Sprintf("vkv-serve-%d.log", i+1)))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "-etcd", "http://"+etcdAddr, "-etcd-prefix", etcdPrefix, "-addr", addr)
	cmd.Stdout, cmd.Stderr = log, log
	dieWithParent(cmd)
	childMu.Lock()
	err = cmd.Start()
	if err == nil {
		children[cmd] = true
	}
	childMu.Unlock()
	if err != nil {
		log.Close()
		return nil, err
	}
	r := &replica{cmd: cmd, addr: addr, log: log, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait() }()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				client.CloseIdleConnections()
				return r, nil
			}
		}
		select {
		case err := <-r.done:
			r.done <- err
			r.stop()
			b, _ := os.ReadFile(log.Name())
			return nil, fmt.Errorf("exited before serving (%v): %.500s", err, b)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, errors.New("/healthz not 200 after 30s")
		}
	}
}

// stop sends SIGTERM (vkv serve shuts down gracefully) and kills the
// process if it has not exited after 30 s.
func (r *replica) stop() error {
	r.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-r.done:
	case <-time.After(30 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
		err = errors.New("did not exit within 30s of SIGTERM; killed")
	}
	childMu.Lock()
	delete(children, r.cmd)
	childMu.Unlock()
	r.log.Close()
	return err
}
