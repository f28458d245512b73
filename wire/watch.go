package wire

import (
	"time"

	"github.com/vkvstore/vkv"
)

// DefaultHeartbeat is how often a watch stream with nothing else to send
// carries a comment line (": heartbeat"), unless the server is configured
// otherwise (httpapi.WithHeartbeat), so that clients and proxies can tell an
// idle stream from a dead one.
const DefaultHeartbeat = 15 * time.Second

// Event names of a watch stream.
const (
	// EventPut names an event that carries a put.
	EventPut = "put"
	// EventDelete names an event that carries a delete, or the recorded
	// expiry of a key.
	EventDelete = "delete"
	// EventError names the last event of a stream that ends on an error; its
	// data is a Problem.
	EventError = "error"
	// EventProgress names a progress notification (vkv.Entry.Progress),
	// sent only when the request asks for them (ParamProgressInterval,
	// ParamProgressNow); its data is a ProgressEvent and its id the
	// version, so that a client resuming with Last-Event-ID resumes from
	// it exactly.
	EventProgress = "progress"
)

// ProgressEvent is the data of a progress event of GET /v1/watch: every
// change under the prefix with a version up to Version has been sent.
type ProgressEvent struct {
	Version vkv.Version `json:"version"`
}

// WatchEvent is the data of a put or delete event of GET /v1/watch: one
// change, as a vkv.Entry. Value is base64 in JSON, null for a delete;
// CreateVersion and ExpiresAt are sent for puts only, and ExpiresAt only for
// a key written with a TTL.
type WatchEvent struct {
	Key           string      `json:"key"`
	KeyBase64     []byte      `json:"keyBase64,omitempty"`
	Version       vkv.Version `json:"version"`
	CreateVersion vkv.Version `json:"createVersion,omitempty"`
	Value         []byte      `json:"value"`
	Deleted       bool        `json:"deleted"`
	ExpiresAt     *time.Time  `json:"expiresAt,omitempty"`
	// TxnEnd marks the last change of its version under the prefix
	// (vkv.Entry.TxnEnd); absent when false.
	TxnEnd bool `json:"txnEnd,omitempty"`
}

// WatchEventOf returns the wire form of the change e.
func WatchEventOf(e *vkv.Entry) WatchEvent {
	ev := WatchEvent{Key: e.Key, KeyBase64: KeyBytes(e.Key), Version: e.Version, CreateVersion: e.CreateVersion, Deleted: e.Deleted, TxnEnd: e.TxnEnd}
	if !e.Deleted {
		ev.Value, ev.ExpiresAt = nonNil(e.Value), ExpiryOf(e)
	}
	return ev
}

// Entry returns the change ev carries.
func (ev *WatchEvent) Entry() vkv.Entry {
	e := vkv.Entry{Key: WireKey(ev.Key, ev.KeyBase64), Version: ev.Version, CreateVersion: ev.CreateVersion,
		Value: ev.Value, Deleted: ev.Deleted, TxnEnd: ev.TxnEnd}
	if ev.ExpiresAt != nil {
		e.ExpiresAt = *ev.ExpiresAt
	}
	if e.Deleted {
		e.Value = nil
	}
	return e
}
