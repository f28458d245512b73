// Package httpapi serves a vkv.KV over HTTP, as the vkv HTTP contract (v1)
// describes: single-key reads and conditional writes under /v1/kv/, listing
// at /v1/kv, transactions at /v1/txn, history at /v1/history/, the change
// feed at /v1/watch, a backup at /v1/backup, the server's limits at
// /v1/limits, the caller's principal and grants at /v1/whoami, the OpenAPI
// document at /v1/openapi.yaml, a health check at
// /healthz and, with WithMetrics,
// metrics at /metrics. docs/openapi.yaml describes every route, header and
// problem type; Patterns lists the routes a handler serves.
//
// # Basics
//
// New returns an http.Handler for any vkv.KV. The handler only uses the
// interface, so it serves the embedded *vkv.Store as well as any other
// backend:
//
//	s, err := vkv.Open(dir, nil)
//	...
//	h := httpapi.New(s, httpapi.WithToken(token), httpapi.WithLogger(logger))
//	srv := httpapi.NewServer(h, logger) // timeouts and a header limit, as vkv serve
//	srv.Addr = "127.0.0.1:8080"
//	srv.ListenAndServe()
//
// A bare http.ListenAndServe has no timeouts: a client that sends its headers
// a byte at a time would hold a connection forever.
//
// Versions travel as JSON integers in bodies and as decimal strings in the
// Vkv-Version header; ETag is the strong tag "<version>". Every error is an
// RFC 9457 problem (application/problem+json) whose type is
// https://github.com/vkvstore/vkv/blob/main/docs/problems.md#<name>; the
// mapping from vkv errors to problems lives in one function (problemFor).
// The body shapes, header names, problem names and key escaping are
// defined once, in package github.com/vkvstore/vkv/wire, which the Go client
// (package vkvclient) shares without importing this package.
//
// # Choices where the contract is silent
//
//   - A key is the decoded path after /v1/kv/. Slashes inside keys may be sent
//     plain or as %2F; keys with empty, "." or ".." segments are served as
//     they are (the handler does not clean or redirect such paths).
//   - PUT takes an optional ttl query parameter: a Go duration ("90s",
//     "1h30m") or a whole number of seconds ("90"), at most vkv.MaxTTL. In a
//     transaction an op takes a "ttl" member in the same form.
//   - A query string that does not parse (bad percent-encoding, a ';'
//     separator) is 400 invalid-request: net/http would drop the bad pair,
//     turning version=%zz into an unconditional write.
//   - If-None-Match on GET uses weak comparison (RFC 9110 §13.1.2), so W/"7"
//     matches version 7 there; on PUT and DELETE, where the contract asks for
//     strong tags, a weak tag is 400 invalid-version. If-Match and
//     If-None-Match accept a comma-separated list of tags.
//   - Responses to GET carry Vkv-Create-Version and, for expiring keys,
//     Vkv-Expires-At (RFC 3339); JSON items carry createVersion and expiresAt.
//     Problems for 409 and 412 sent with Prefer: return=representation carry
//     currentCreateVersion and currentExpiresAt beside currentValue.
//   - /healthz answers with Vkv-Store-Version, the newest version of the store,
//     when the KV offers CurrentVersion(ctx). GET /v1/kv/{key}?version=latest
//     reads the key at that version exactly (GetAt) and reports it in the
//     same header, on a 404 too: a client reads and pins a snapshot in one
//     request, then reads at ?version=V. Without CurrentVersion it is a
//     plain GET, without the header.
//   - Errors the contract does not name: a closed KV or a cancelled request is
//     503 unavailable.
//   - Every response has X-Request-Id (the client's, if it sent a short
//     printable one, else a new one); a 500 problem carries it as requestId.
//   - GET /v1/watch?prefix=P&fromVersion=N streams the KV's changes as
//     Server-Sent Events (id: the version; event: put or delete; data: a
//     wire.WatchEvent), when the KV implements vkv.Watcher (else 501
//     not-implemented). Last-Event-ID wins over fromVersion; without either
//     the watch starts at the newest version. Idle streams carry a
//     ": heartbeat" comment (WithHeartbeat). A from below the kept history is
//     410 compacted before the stream starts; errors during it end it with an
//     "error" event carrying the problem, also when the store closes and when
//     the *http.Server serving it starts Shutdown (so streams do not hold
//     Shutdown up). The write deadline is moved forward as events are written
//     (WatchWriteTimeout), so the server's WriteTimeout does not end streams.
//   - GET /v1/backup streams the KV's backup (vkv.Backupper; else 501
//     not-implemented) as application/octet-stream, announcing the trailer
//     Vkv-Backup-Size (wire.HeaderBackupSize), sent once the backup is complete.
//     A backup that fails after its first byte aborts the connection, so that
//     no short backup looks whole. The write deadline is moved forward as it
//     is written (BackupWriteTimeout).
//   - Limits: the handler checks keys, values and transactions with
//     vkv.Limits, the same checks as the store's, at the KV's own limits
//     when it tells them (vkv.Limiter, as *vkv.Store does) and else at
//     DefaultMaxKeySize, DefaultMaxBodySize and DefaultMaxTxnOps; the
//     WithMax options can lower them. GET /v1/limits serves those numbers
//     (a wire.Limits), so that clients can check before they send.
//   - GET /v1/openapi.yaml serves docs/openapi.yaml (application/yaml),
//     behind the token like every /v1 route.
//   - WithMetrics reports every request (its route pattern, status and
//     duration; never its path) to a Metrics and serves GET /metrics with it,
//     without the token, like /healthz. Package
//     github.com/vkvstore/vkv/metrics implements Metrics with Prometheus.
//
// # Caveats
//
// The handler holds a request's whole body in memory (up to the body limits).
// It does not rate-limit.
//
// # Authentication and authorization
//
// WithAuthorizer plugs in an Authorizer: the handler works out what each
// request needs (Read or Write, on a key or on every key under a prefix;
// for a transaction, on every key of it) and asks the Authorizer, which
// says who sent the request (Authenticate) and whether they may (Allow).
// Credentials it does not know are 401 unauthorized; a known principal
// without the grant is 403 forbidden, before the store is touched, so the
// answer is the same whether the key exists, and a refused transaction
// writes nothing. Lists and watches need the whole prefix: they are refused,
// never filtered. Package github.com/vkvstore/vkv/authfile is the
// Authorizer of vkv serve -auth-file; WithToken is one token with Write on
// every key. Every committed write and every refusal is logged as an audit
// record ("audit: write", "audit: denied"); credentials never are.
package httpapi
