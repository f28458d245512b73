package vkv

import (
	"errors"
	"strconv"
)

// Version numbers the writes of a store. The store assigns a new version to
// every successful write (Put, CompareAndSwap, Delete, CompareAndDelete, or a
// transaction, whose writes all share one version).
//
// Versions only grow: a version once returned is never returned again for a
// different write, not after deletes, compaction, or closing and reopening the
// store. Version 0 means "the key does not exist"; as an expectation in
// CompareAndSwap or Txn.Expect it means "the key must not exist".
type Version uint64

// String formats v in decimal, the form used in URLs and headers.
func (v Version) String() string {
	return strconv.FormatUint(uint64(v), 10)
}

// ETag formats v as a strong HTTP entity tag: version 7 is `"7"`.
func (v Version) ETag() string {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendUint(b, uint64(v), 10)
	b = append(b, '"')
	return string(b)
}

// errVersionSyntax is wrapped by ParseVersion and ParseETag.
var errVersionSyntax = errors.New("not a decimal version")

// ParseVersion parses a decimal version strictly: ASCII digits only, no sign,
// no spaces, no leading zeros (except "0" itself) and no overflow of uint64.
// Any other input gives an error that matches ErrInvalidVersion.
func ParseVersion(s string) (Version, error) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, &VersionError{Input: s, Err: errVersionSyntax}
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, &VersionError{Input: s, Err: errVersionSyntax}
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, &VersionError{Input: s, Err: errors.New("version out of range")}
	}
	return Version(n), nil
}

// ParseETag parses a strong entity tag holding a version, such as `"7"`.
// Weak tags (`W/"7"`), unquoted numbers, the wildcard `*` and lists are
// rejected with an error that matches ErrInvalidVersion; callers that accept
// `*` (If-Match: *) check for it first.
func ParseETag(s string) (Version, error) {
	if len(s) < 3 || s[0] != '"' || s[len(s)-1] != '"' {
		return 0, &VersionError{Input: s, Err: errors.New("not a strong entity tag")}
	}
	v, err := ParseVersion(s[1 : len(s)-1])
	if err != nil {
		return 0, &VersionError{Input: s, Err: errVersionSyntax}
	}
	return v, nil
}
