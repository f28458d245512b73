package wire

// Header names of the API beyond the standard ones.
const (
	// HeaderVersion carries the version of the entry a response is about,
	// in decimal.
	HeaderVersion = "Vkv-Version"
	// HeaderCreateVersion carries the entry's CreateVersion on GET.
	HeaderCreateVersion = "Vkv-Create-Version"
	// HeaderExpiresAt carries the entry's expiry time (RFC 3339, nanoseconds)
	// on GET, for keys written with a TTL.
	HeaderExpiresAt = "Vkv-Expires-At"
	// HeaderStoreVersion carries the newest version the store has handed
	// out, when the KV can tell: on /healthz, and on GET /v1/kv/{key}
	// ?version=latest, where it is the version the read was made at (on a
	// 404 too).
	HeaderStoreVersion = "Vkv-Store-Version"
	// HeaderRequestID carries the id of the request, as logged.
	HeaderRequestID = "X-Request-Id"
	// HeaderLastEventID is the header a reconnecting Server-Sent Events
	// client sends with the id of the last event it received.
	HeaderLastEventID = "Last-Event-ID"
	// HeaderBackupSize is the trailer of GET /v1/backup: the number of bytes
	// of the backup, in decimal, sent after the body once the backup is
	// complete. The response announces it in its Trailer header; a body that
	// ends without it is a backup that did not finish.
	HeaderBackupSize = "Vkv-Backup-Size"
)

// Query parameters that client and server share.
const (
	// ParamVersion is the version of GET /v1/kv/{key} (read at it, or
	// VersionLatest) and of PUT and DELETE (the condition that the key is at
	// it).
	ParamVersion = "version"
	// ParamTTL is the TTL of a PUT: a Go duration or a number of seconds.
	ParamTTL = "ttl"
	// TTLKeep, as the value of ParamTTL or of a transaction op's ttl, keeps
	// the key's current expiry (vkv.WithKeepTTL).
	TTLKeep = "keep"
	// ParamPrefix restricts GET /v1/kv and GET /v1/watch to keys with this
	// prefix.
	ParamPrefix = "prefix"
	// ParamAfter is the key a page of GET /v1/kv starts after.
	ParamAfter = "after"
	// ParamLimit bounds a page of GET /v1/kv or of GET /v1/history.
	ParamLimit = "limit"
	// ParamFromVersion is the version GET /v1/watch delivers the changes
	// after.
	ParamFromVersion = "fromVersion"
	// ParamProgressInterval asks GET /v1/watch for a progress event every
	// interval of the store's clock (vkv.WithProgressNotify): a Go duration
	// or a number of seconds, above zero.
	ParamProgressInterval = "progressInterval"
	// ParamProgressNow, set to "true", asks GET /v1/watch for one progress
	// event as soon as the stream has caught up with the store's version
	// when the request arrived (vkv.WithProgressRequests with one request).
	// A one-way stream cannot take a request later: the Go client asks for
	// a progress notification by reconnecting with this parameter.
	ParamProgressNow = "progressNow"
)

// VersionLatest, as the ParamVersion of GET /v1/kv/{key}, reads the key at
// the store's newest version V exactly (as ?version=V would) and reports V in
// HeaderStoreVersion, also when the key is absent: one request both reads
// and pins a snapshot, whose later reads go to ?version=V.
const VersionLatest = "latest"

// Media types of the API beyond application/json and
// application/octet-stream.
const (
	// ProblemContentType is the media type of a Problem (RFC 9457).
	ProblemContentType = "application/problem+json"
	// EventStreamContentType is the media type of GET /v1/watch.
	EventStreamContentType = "text/event-stream"
)
