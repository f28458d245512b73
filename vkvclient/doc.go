// Package vkvclient is a Go client for a vkv server: a vkv.KV over HTTP.
//
// # Basics
//
//	c, err := vkvclient.New("http://127.0.0.1:8080", vkvclient.WithToken(token))
//	if err != nil { ... }
//	defer c.Close()
//	v, err := c.CompareAndSwap(ctx, "orders/17", 0, []byte("new"))
//
// A *Client implements vkv.KV with the semantics of the embedded *vkv.Store
// (package vkvtest checks both): the same sentinel and typed errors come back
// (a 409 problem becomes a *vkv.ConflictError with the same fields, 404
// becomes vkv.ErrNotFound, 410 a *vkv.CompactedError, and so on); problems
// with no vkv counterpart are a *ProblemError.
//
// The client speaks the wire format of package
// github.com/vkvstore/vkv/wire; it does not import the server's package
// httpapi, so a program that only talks to a server does not build the
// handler.
//
// # Limits
//
// The first call that sends a key (or Update, View, or Limits itself) asks
// the server for its limits, GET /v1/limits, once for the life of the
// Client. From then on the client checks every key, value, TTL and
// transaction with vkv.Limits' methods, as the store does, and refuses what
// is over a limit without a request, with the store's own errors
// (*vkv.KeyError, *vkv.LimitError). A server from before /v1/limits gives no
// limits; its answers are then mapped to the same errors.
//
// # Transactions
//
// Update and View run their function against a snapshot: the first Get
// reads the key at the store's newest version and pins it, in one request
// (GET ?version=latest, which reports the version in Vkv-Store-Version), and
// every later Get reads at that version (GET ?version=V); a first Txn.List
// pins it with the version GET /v1/kv reports, and later pages read at it
// (GET /v1/kv?version=V). An Update that
// reads one key and writes it is two requests: the read and the commit.
// Only a function that neither reads nor writes makes the client ask
// /healthz for the version (Update returns it); so does every transaction
// on a server from before ?version=latest. Update buffers writes and
// commits them with POST /v1/txn, sending the version of every key read as
// a condition beside the function's own Expect conditions, and each range
// Txn.List read as a range condition (the range, V and the number of keys
// it held), which the server checks with its own range reads. When only read
// conditions fail, the function is run again (at most 64 times, while ctx
// allows), as the embedded store does. Expiry is judged at the time the
// snapshot was taken, on the client's clock (WithClock). A server whose KV
// cannot tell its newest version serves no snapshot: reads then see the
// latest data, and the read conditions still make the commit safe.
//
// # Watch
//
// A *Client implements vkv.Watcher: Watch reads the server's change feed,
// GET /v1/watch, as Server-Sent Events, and yields the same sequence the
// embedded store's Watch would. It resumes by itself after a dropped
// connection, a silent one (WithWatchIdleTimeout) or a server restart,
// without a gap or a duplicate: it reconnects with Last-Event-ID set to the
// version before the last one it delivered changes of, and skips the
// changes of that version it already delivered (a transaction's changes
// share a version). A 410 or a compaction during the stream ends it with a
// *vkv.CompactedError; Close ends every watch in progress with
// vkv.ErrClosed. An *http.Client given with WithHTTPClient should have no
// Timeout, which would cut every stream (Watch would reconnect each time).
//
// # Backup
//
// A *Client implements vkv.Backupper: Backup streams the server's GET
// /v1/backup into a writer and returns nil only when the server confirmed
// the whole backup (the Vkv-Backup-Size trailer); restore it offline with
// vkv.Restore.
//
// # Caveats
//
// One Client is safe for concurrent use and reuses its connections; Close it
// to release them. Values passed in and returned are copied or owned by the
// caller. A cancelled ctx aborts the request; a write whose request was sent
// may still have been applied when ctx ends.
package vkvclient
