package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// Timeouts and limits of the *http.Server that NewServer returns, and so of
// vkv serve. WriteTimeout bounds a whole response, so it is generous enough
// for a large list or history page on a slow link.
const (
	// ServerReadHeaderTimeout bounds the time a client may take to send a
	// request's headers: a client that trickles them (Slowloris) is cut off.
	ServerReadHeaderTimeout = 10 * time.Second
	// ServerReadTimeout bounds the time to read a whole request, body
	// included.
	ServerReadTimeout = 60 * time.Second
	// ServerWriteTimeout bounds the time to write a response.
	ServerWriteTimeout = 60 * time.Second
	// ServerIdleTimeout bounds how long an idle keep-alive connection is kept.
	ServerIdleTimeout = 120 * time.Second
	// ServerMaxHeaderBytes bounds the request line and headers: 256 KiB,
	// room for a key of the largest MaxKeySize (64,000 bytes) percent-encoded
	// three times over, so that the handler itself refuses an over-long key
	// with a problem (400 invalid-key). net/http answers larger requests with
	// a plain-text 431 before the handler runs.
	ServerMaxHeaderBytes = 256 << 10
)

// NewServer returns an *http.Server that serves h with the timeouts and the
// header limit above, logging its own errors (bad connections, TLS failures)
// to logger at level Warn; a nil logger discards them. The caller sets Addr
// or calls Serve with a listener, and may set BaseContext.
func NewServer(h http.Handler, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ServerReadHeaderTimeout,
		ReadTimeout:       ServerReadTimeout,
		WriteTimeout:      ServerWriteTimeout,
		IdleTimeout:       ServerIdleTimeout,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
