package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkvstore/vkv/benchmarks/internal/latency"
)

// The load generator: conns goroutines, each with one keep-alive TCP
// connection of its own to the server (to server i%n of n replicas), sending
// one request at a time (a closed loop), each on a key chosen at random
// among the connection's own: connection i owns the keys j with j%conns ==
// i, so that it alone writes them and knows their versions. In the hot-cache
// variant connection i uses key i only. Requests are
// written from prebuilt bytes and answers parsed with http.ReadResponse, so
// that the client does little besides waiting.

// Phases of a cell: the workers record only requests started while measuring.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// loadResult is what the workers of one cell did while measuring.
type loadResult struct {
	ops      uint64 // requests started and answered while measuring
	failures uint64 // wrong answers: a failed CAS, a wrong status or body; counted in warm-up too
	firstErr string // the first failure or transport error, for the log
	h        latency.Hist
}

// target is one server and workload as the load generator sees it.
type target struct {
	addrs    []string // the server, or its replicas: connection i uses addrs[i%len(addrs)]
	kind     string   // server kind
	workload string   // wlGet, wlCASSync or wlCASNoSync
	value    []byte   // the value preloaded (GET) or written (CAS)
	versions []uint64 // the version of every key; connection i updates those it owns
	conns    int
	hot      bool   // connection i uses key i only
	ca       []byte // TLS: the server's certificate (DER); nil: plain HTTP
}

// picker returns the key chooser of connection i.
func (t *target) picker(i int) func() int {
	if t.hot {
		return func() int { return i }
	}
	rng := rand.New(rand.NewPCG(uint64(i), 0x6874))
	owned := (len(t.versions) - i + t.conns - 1) / t.conns
	return func() int { return rng.IntN(owned)*t.conns + i }
}

// keyNames are the benchmark keys, made once: the load generator builds no
// key per request.
var (
	keyNamesMu sync.Mutex
	keyNames   []string
	keyNames64 []string // base64, for etcd's JSON gateway
)

func keysUpTo(n int) (names, names64 []string) {
	keyNamesMu.Lock()
	defer keyNamesMu.Unlock()
	for i := len(keyNames); i < n; i++ {
		keyNames = append(keyNames, keyName(i))
		keyNames64 = append(keyNames64, base64.StdEncoding.EncodeToString([]byte(keyNames[i])))
	}
	return keyNames[:n], keyNames64[:n]
}

// op does one request on a connection; it returns an error for a failure
// that ends the worker (transport, parse) and bad=true for a wrong answer
// after which the connection is still usable.
type op func() (bad bool, err error)

// conn is one load-generator connection.
type conn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
	// scratch space for building requests and reading bodies
	req, body []byte
}

// dial connects to addr; with ca (a DER certificate) over TLS, trusting ca
// alone and asking for HTTP/1.1 by ALPN, the handshake done before it
// returns so that no measured request pays it.
func dial(addr string, ca []byte) (*conn, error) {
	var c net.Conn
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if ca != nil {
		cert, err := x509.ParseCertificate(ca)
		if err != nil {
			c.Close()
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	return &conn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10)}, nil
}

// roundTrip sends req and reads the answer; the body is in cn.body until the
// next call.
func (cn *conn) roundTrip(req []byte) (*http.Response, error) {
	if _, err := cn.bw.Write(req); err != nil {
		return nil, err
	}
	if err := cn.bw.Flush(); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(cn.br, nil)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength >= 0 {
		if cap(cn.body) < int(resp.ContentLength) {
			cn.body = make([]byte, resp.ContentLength)
		}
		cn.body = cn.body[:resp.ContentLength]
		_, err = io.ReadFull(resp.Body, cn.body)
	} else {
		cn.body, err = io.ReadAll(resp.Body)
	}
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.Close {
		return nil, errors.New("the server closed the connection")
	}
	return resp, nil
}

// parseETag returns the version in a strong ETag "N".
func parseETag(s string) (uint64, bool) {
	if len(s) < 3 || s[0] != '"' || s[len(s)-1] != '"' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[1:len(s)-1], 10, 64)
	return v, err == nil
}

// newOp returns the request loop body of connection i.
func newOp(t *target, cn *conn, i int, fail func(string)) op {
	names, names64 := keysUpTo(len(t.versions))
	pick := t.picker(i)
	host := "Host: " + t.addrs[i%len(t.addrs)] + "\r\n"
	vers := t.versions
	switch {
	case t.workload == wlGet && t.kind == kindEtcd:
		// POST /v3/kv/range; the JSON gateway answers the value in base64.
		v64 := base64.StdEncoding.EncodeToString(t.value)
		head := "POST /v3/kv/range HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: "
		var ans struct {
			Kvs []struct {
				Value string `json:"value"`
			} `json:"kvs"`
		}
		return func() (bool, error) {
			k := pick()
			req := append(cn.req[:0], head...)
			req = strconv.AppendInt(req, int64(len(`{"key":""}`)+len(names64[k])), 10)
			req = append(req, "\r\n\r\n"...)
			req = append(req, `{"key":"`...)
			req = append(req, names64[k]...)
			req = append(req, `"}`...)
			cn.req = req
			resp, err := cn.roundTrip(req)
			if err != nil {
				return false, err
			}
			ans.Kvs = ans.Kvs[:0]
			if resp.StatusCode != http.StatusOK {
				fail(fmt.Sprintf("etcd range %s: status %d: %.200s", names[k], resp.StatusCode, cn.body))
				return true, nil
			}
			if err := json.Unmarshal(cn.body, &ans); err != nil {
				return false, fmt.Errorf("etcd range answer: %w: %.200s", err, cn.body)
			}
			if len(ans.Kvs) != 1 || ans.Kvs[0].Value != v64 {
				fail(fmt.Sprintf("etcd range %s: %d kvs: %.200s", names[k], len(ans.Kvs), cn.body))
				return true, nil
			}
			return false, nil
		}
	case t.workload == wlGet:
		head := "GET /v1/kv/"
		tail := " HTTP/1.1\r\n" + host + "\r\n"
		return func() (bool, error) {
			k := pick()
			req := append(cn.req[:0], head...)
			req = append(req, names[k]...)
			req = append(req, tail...)
			cn.req = req
			resp, err := cn.roundTrip(req)
			if err != nil {
				return false, err
			}
			if resp.StatusCode != http.StatusOK || !bytes.Equal(cn.body, t.value) {
				fail(fmt.Sprintf("GET %s: status %d, %d bytes of body", names[k], resp.StatusCode, len(cn.body)))
				return true, nil
			}
			return false, nil
		}
	case t.kind == kindEtcd:
		// The JSON gateway: bytes are base64, int64s are JSON strings.
		v64 := base64.StdEncoding.EncodeToString(t.value)
		head := "POST /v3/kv/txn HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: "
		const (
			p1 = `{"compare":[{"key":"`
			p2 = `","target":"MOD","mod_revision":"`
			p3 = `"}],"success":[{"requestPut":{"key":"`
			p4 = `","value":"`
			p5 = `"}}]}`
		)
		var ans struct {
			Header struct {
				Revision string `json:"revision"`
			} `json:"header"`
			Succeeded bool `json:"succeeded"`
		}
		var num []byte
		return func() (bool, error) {
			k := pick()
			ver := vers[k]
			num = strconv.AppendUint(num[:0], ver, 10)
			k64 := names64[k]
			req := append(cn.req[:0], head...)
			req = strconv.AppendInt(req, int64(len(p1)+len(k64)+len(p2)+len(num)+len(p3)+len(k64)+len(p4)+len(v64)+len(p5)), 10)
			req = append(req, "\r\n\r\n"...)
			req = append(req, p1...)
			req = append(req, k64...)
			req = append(req, p2...)
			req = append(req, num...)
			req = append(req, p3...)
			req = append(req, k64...)
			req = append(req, p4...)
			req = append(req, v64...)
			req = append(req, p5...)
			cn.req = req
			resp, err := cn.roundTrip(req)
			if err != nil {
				return false, err
			}
			ans.Succeeded, ans.Header.Revision = false, ""
			if resp.StatusCode != http.StatusOK {
				fail(fmt.Sprintf("etcd txn on %s at %d: status %d: %.200s", names[k], ver, resp.StatusCode, cn.body))
				return true, nil
			}
			if err := json.Unmarshal(cn.body, &ans); err != nil {
				return false, fmt.Errorf("etcd txn answer: %w: %.200s", err, cn.body)
			}
			rev, err := strconv.ParseUint(ans.Header.Revision, 10, 64)
			if err != nil || rev <= ver || !ans.Succeeded {
				fail(fmt.Sprintf("etcd txn on %s at %d: succeeded=%v revision %q", names[k], ver, ans.Succeeded, ans.Header.Revision))
				return true, nil
			}
			vers[k] = rev
			return false, nil
		}
	default:
		// vkv's PUT with If-Match, and the raw-Badger handler's copy of it.
		path := "/v1/kv/"
		if t.kind == kindBadger {
			path = "/kv/"
		}
		head := "PUT " + path
		mid := " HTTP/1.1\r\n" + host +
			"Content-Type: application/octet-stream\r\nContent-Length: " + strconv.Itoa(len(t.value)) +
			"\r\nIf-Match: \""
		return func() (bool, error) {
			k := pick()
			ver := vers[k]
			req := append(cn.req[:0], head...)
			req = append(req, names[k]...)
			req = append(req, mid...)
			req = strconv.AppendUint(req, ver, 10)
			req = append(req, "\"\r\n\r\n"...)
			req = append(req, t.value...)
			cn.req = req
			resp, err := cn.roundTrip(req)
			if err != nil {
				return false, err
			}
			nv, ok := parseETag(resp.Header.Get("ETag"))
			if resp.StatusCode != http.StatusOK || !ok || nv <= ver {
				fail(fmt.Sprintf("CAS on %s at %d: status %d, ETag %q: %.200s", names[k], ver, resp.StatusCode, resp.Header.Get("ETag"), cn.body))
				if ok {
					vers[k] = nv // go on from the version the server reported
				}
				return true, nil
			}
			vers[k] = nv
			return false, nil
		}
	}
}

// runLoad runs conns workers against t until stop is closed.
type loadRun struct {
	phase   atomic.Int32
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []*loadResult
	errs    []string
}

func startLoad(t *target, conns int) (*loadRun, error) {
	lr := &loadRun{}
	cs := make([]*conn, conns)
	for i := range cs {
		c, err := dial(t.addrs[i%len(t.addrs)], t.ca)
		if err != nil {
			for _, c := range cs[:i] {
				c.c.Close()
			}
			return nil, err
		}
		cs[i] = c
	}
	for i, cn := range cs {
		res := &loadResult{}
		lr.results = append(lr.results, res)
		fail := func(msg string) {
			res.failures++
			if res.firstErr == "" {
				res.firstErr = msg
			}
		}
		do := newOp(t, cn, i, fail)
		lr.wg.Add(1)
		go func() {
			defer lr.wg.Done()
			defer cn.c.Close()
			for {
				ph := lr.phase.Load()
				if ph == phaseStop {
					return
				}
				start := time.Now()
				if _, err := do(); err != nil {
					lr.mu.Lock()
					lr.errs = append(lr.errs, err.Error())
					lr.mu.Unlock()
					return
				}
				if ph == phaseMeasure {
					res.h.Record(time.Since(start))
					res.ops++
				}
			}
		}()
	}
	return lr, nil
}

// finish stops the workers, waits for their last requests and merges what
// they measured; transport errors come back as the error.
func (lr *loadRun) finish() (*loadResult, error) {
	lr.phase.Store(phaseStop)
	lr.wg.Wait()
	total := &loadResult{}
	for _, r := range lr.results {
		total.ops += r.ops
		total.failures += r.failures
		if total.firstErr == "" {
			total.firstErr = r.firstErr
		}
		total.h.Merge(&r.h)
	}
	if len(lr.errs) > 0 {
		return total, fmt.Errorf("%d connections failed; the first: %s", len(lr.errs), strings.TrimSpace(lr.errs[0]))
	}
	return total, nil
}
