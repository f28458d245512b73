package wire

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// EscapeKey percent-encodes key for a path under /v1/kv/ or /v1/history/:
// every byte that is not unreserved, '/' and '.' included, so that no client,
// proxy or mux cleans the path or treats the key as more than one segment.
func EscapeKey(key string) string {
	return strings.ReplaceAll(url.PathEscape(key), ".", "%2E")
}

// KeyBytes returns the keyBase64 member to send beside key: nil when key is
// valid UTF-8.
func KeyBytes(key string) []byte {
	if utf8.ValidString(key) {
		return nil
	}
	return []byte(key)
}

// WireKey returns the key a pair of "key" and "keyBase64" members holds.
func WireKey(key string, keyBase64 []byte) string {
	if keyBase64 != nil {
		return string(keyBase64)
	}
	return key
}
