package vkvclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// WithTLSConfig makes the Client's own transport use cfg (a copy of it) for
// https:// endpoints: the CAs to verify the server with (RootCAs; nil: the
// system's) and a client certificate for a server that asks for one
// (mutual TLS, vkv serve -tls-client-ca). With WithHTTPClient, set TLS on
// that client's transport as well: WithTLSConfig does not reach it, and
// only tells the Client which configuration to open a diagnostic
// connection with when a request fails for a reason the transport does not
// say (a client certificate refused after an HTTP/2 handshake).
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *Client) {
		if cfg == nil {
			return
		}
		c.tlsConfig = cfg.Clone()
		if c.transport != nil {
			c.transport.TLSClientConfig = cfg.Clone()
		}
	}
}

// LoadTLSConfig returns the TLS configuration of a client from PEM files,
// as the vkv command line takes them (-cacert, -cert, -key): caFile, if not
// empty, holds the CAs that sign the server's certificate (instead of the
// system's); certFile and keyFile, both or neither, the client certificate
// and its key. The error names the file that failed.
func LoadTLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("vkvclient: reading the CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("vkvclient: CA file %s holds no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("vkvclient: a client certificate needs both its certificate and its key file")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("vkvclient: client certificate %s with key %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
