package main

// TLS for the client commands: -cacert, -cert, -key (etcdctl's names),
// also from $VKV_CACERT, $VKV_CERT, $VKV_KEY, and hints for certificate
// errors that say what to do.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"

	"github.com/vkvstore/vkv/vkvclient"
)

// Environment variables of the TLS flags.
const (
	envCACert = "VKV_CACERT"
	envCert   = "VKV_CERT"
	envKey    = "VKV_KEY"
)

// clientTLSFlags are the TLS flags of the client commands.
type clientTLSFlags struct {
	cacert, cert, key string
}

// register adds the flags to fs.
func (f *clientTLSFlags) register(fs *cmdFlags) {
	fs.StringVar(&f.cacert, "cacert", "", "verify an https:// server with this PEM CA bundle `file` (default $"+envCACert+", else the system's CAs)")
	fs.StringVar(&f.cert, "cert", "", "present this PEM client certificate `file` to a server that asks for one (default $"+envCert+")")
	fs.StringVar(&f.key, "key", "", "the PEM key `file` of -cert (default $"+envKey+")")
}

// config returns the TLS configuration the flags and the environment ask
// for, or nil when they ask for nothing.
func (f *clientTLSFlags) config(env *cliEnv) (*tls.Config, error) {
	pick := func(flag, name string) string {
		if flag != "" {
			return flag
		}
		return env.getenv(name)
	}
	ca, cert, key := pick(f.cacert, envCACert), pick(f.cert, envCert), pick(f.key, envKey)
	if ca == "" && cert == "" && key == "" {
		return nil, nil
	}
	if (cert == "") != (key == "") {
		return nil, errors.New("-cert and -key go together: give both or neither")
	}
	return vkvclient.LoadTLSConfig(ca, cert, key)
}

// tlsHint returns err with what to do added, for the TLS errors a user can
// fix from the command line; other errors are returned as they are.
func tlsHint(err error) error {
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		rhe tls.RecordHeaderError
	)
	msg := err.Error()
	var hint string
	// The client's error may carry the TLS error as text only (wrapped
	// with %v on the way), hence the strings beside errors.As.
	switch {
	case errors.As(err, &ua), strings.Contains(msg, "x509: certificate signed by unknown authority"):
		hint = "the server's certificate is signed by an unknown authority; pass its CA with -cacert FILE (or $" + envCACert + ")"
	case errors.As(err, &he), strings.Contains(msg, "x509: certificate is valid for"), strings.Contains(msg, "x509: cannot validate certificate for"):
		hint = "the server's certificate is not for this host name; use the name or address the certificate was made for in -endpoint"
	case errors.As(err, &ci) && ci.Reason == x509.Expired, strings.Contains(msg, "x509: certificate has expired or is not yet valid"):
		hint = "the server's certificate has expired or is not yet valid; renew it (vkv serve reloads it on SIGHUP) or check the clocks"
	case errors.As(err, &ci):
		hint = "the server's certificate is not valid for a TLS server; check how it was made"
	case errors.As(err, &rhe), strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		hint = "the server does not speak TLS; use http:// in -endpoint"
	case strings.Contains(msg, "tls: certificate required"):
		hint = "the server requires a client certificate, pass it with -cert FILE -key FILE (or $" + envCert + ", $" + envKey + ")"
	case strings.Contains(msg, "https://") && (strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection reset by peer")):
		// With TLS 1.3 the server checks the client's certificate after
		// the client's side of the handshake is done, so a refusal can
		// arrive as a closed connection instead of the alert.
		hint = "the server closed the TLS connection; if it requires a client certificate, pass it with -cert FILE -key FILE (or $" + envCert + ", $" + envKey + ")"
	case strings.Contains(msg, "tls: unknown certificate authority"), strings.Contains(msg, "tls: bad certificate"):
		hint = "the server refused the client certificate: it is not signed by the CA the server trusts (-tls-client-ca)"
	case strings.Contains(msg, "tls: expired certificate"):
		hint = "the server refused the client certificate as expired; renew it"
	default:
		return err
	}
	return errors.New(msg + " (" + hint + ")")
}
