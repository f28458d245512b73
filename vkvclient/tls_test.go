package vkvclient_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vkvstore/vkv"
	"github.com/vkvstore/vkv/httpapi"
	"github.com/vkvstore/vkv/internal/testcert"
	"github.com/vkvstore/vkv/vkvclient"
)

// TestTLS: a Client with WithTLSConfig talks to an https:// endpoint whose
// certificate its CA signed, presenting a client certificate to a server
// that requires one; without the CA, or without the certificate, it fails.
func TestTLS(t *testing.T) {
	s, err := vkv.Open("", &vkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ca, clientCA := testcert.NewCA(t, "server CA"), testcert.NewCA(t, "client CA")
	srv := httptest.NewUnstartedServer(httpapi.New(s))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Server(t, "server").TLS(t)},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCA.Pool()}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	caFile := ca.WriteCA(t, dir, "ca")
	certFile, keyFile := clientCA.Client(t, "app", time.Time{}, time.Time{}).Write(t, dir, "client")
	tests := []struct {
		name          string
		ca, cert, key string
		wantOK        bool
	}{
		{"CA and client certificate", caFile, certFile, keyFile, true},
		{"no CA: unknown authority", "", certFile, keyFile, false},
		{"no client certificate", caFile, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := vkvclient.LoadTLSConfig(tt.ca, tt.cert, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			c, err := vkvclient.New(srv.URL, vkvclient.WithTLSConfig(cfg))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = c.Put(ctx, "k", []byte("v"))
			if tt.wantOK && err != nil {
				t.Fatalf("Put: %v", err)
			}
			if !tt.wantOK && err == nil {
				t.Fatal("Put succeeded")
			}
			if !tt.wantOK && errors.Is(err, vkv.ErrNotFound) {
				t.Fatalf("Put: %v", err)
			}
		})
	}
	if _, err := vkvclient.LoadTLSConfig("", certFile, ""); err == nil {
		t.Error("a certificate without its key was accepted")
	}
	if _, err := vkvclient.LoadTLSConfig(keyFile, "", ""); err == nil {
		t.Error("a CA file without a certificate was accepted")
	}
}
