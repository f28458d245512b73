package main

// TLS for vkv serve: the certificate, its key and the client CA, loaded at
// start and again on SIGHUP. The files in force sit behind an atomic
// pointer; each handshake picks up the current ones, so a reload applies to
// new connections at once and leaves open ones alone.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// tlsFlags are vkv serve's TLS flags.
type tlsFlags struct {
	cert     string
	key      string
	clientCA string
}

// enabled reports whether TLS was asked for.
func (f *tlsFlags) enabled() bool { return f.cert != "" || f.key != "" }

// check refuses flags that do not go together.
func (f *tlsFlags) check() error {
	if (f.cert == "") != (f.key == "") {
		return errors.New("-tls-cert and -tls-key go together: give both or neither")
	}
	if f.clientCA != "" && f.cert == "" {
		return errors.New("-tls-client-ca needs -tls-cert and -tls-key: mutual TLS is TLS")
	}
	return nil
}

// tlsFileError names the file that failed to load and the problem.
type tlsFileError struct {
	flag, file string
	err        error
}

func (e *tlsFileError) Error() string { return fmt.Sprintf("%s %s: %v", e.flag, e.file, e.err) }
func (e *tlsFileError) Unwrap() error { return e.err }

// serverTLS is the TLS configuration of vkv serve, reloadable.
type serverTLS struct {
	f   tlsFlags
	cur atomic.Pointer[tls.Config] // the configuration for the next handshake
}

// newServerTLS loads the files of f.
func newServerTLS(f tlsFlags) (*serverTLS, error) {
	s := &serverTLS{f: f}
	if err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// reload reads the certificate, key and client CA again. On an error the
// configuration in force stays; the error names the file and the problem.
func (s *serverTLS) reload() error {
	cfg, err := s.load()
	if err != nil {
		return err
	}
	s.cur.Store(cfg)
	return nil
}

// load reads the files into the configuration one handshake uses.
func (s *serverTLS) load() (*tls.Config, error) {
	certPEM, err := os.ReadFile(s.f.cert)
	if err != nil {
		return nil, &tlsFileError{"-tls-cert", s.f.cert, err}
	}
	keyPEM, err := os.ReadFile(s.f.key)
	if err != nil {
		return nil, &tlsFileError{"-tls-key", s.f.key, err}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, &tlsFileError{"-tls-cert/-tls-key", s.f.cert + ", " + s.f.key, err}
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
		Certificates: []tls.Certificate{cert},
	}
	if s.f.clientCA != "" {
		b, err := os.ReadFile(s.f.clientCA)
		if err != nil {
			return nil, &tlsFileError{"-tls-client-ca", s.f.clientCA, err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, &tlsFileError{"-tls-client-ca", s.f.clientCA, errors.New("no PEM certificate in the file")}
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = pool
		// A resumed session skips the chain check: check it against the
		// CA in force now, so that a client CA taken out at a reload is
		// refused on resumption too.
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if !cs.DidResume {
				return nil
			}
			if len(cs.PeerCertificates) == 0 {
				return errors.New("vkv: resumed session without a client certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
				Roots: pool, Intermediates: inter, CurrentTime: time.Now(),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			})
			return err
		}
	}
	return cfg, nil
}

// config returns the *tls.Config for the server: each handshake takes the
// configuration in force.
func (s *serverTLS) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.cur.Load(), nil
		},
	}
}

// tlsOnlyListener closes, without answering, connections whose first byte
// is not a TLS handshake record: net/http would otherwise answer a plain
// HTTP request on the TLS port with a 400 in clear text.
type tlsOnlyListener struct{ net.Listener }

// Accept returns the next connection, wrapped.
func (l tlsOnlyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tlsOnlyConn{Conn: c}, nil
}

// tlsOnlyConn fails its first read, and closes, when the first byte is not
// 0x16 (a TLS handshake record).
type tlsOnlyConn struct {
	net.Conn
	checked bool
}

// errNotTLS is what the TLS layer gets from a connection that does not
// start with a handshake; net/http then closes it without a word.
var errNotTLS = errors.New("vkv: the client did not start a TLS handshake")

// Read reads from the connection, checking the first byte.
func (c *tlsOnlyConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.checked && n > 0 {
		c.checked = true
		if b[0] != 0x16 {
			c.Conn.Close()
			return 0, errNotTLS
		}
	}
	return n, err
}
