package vkv_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/vkvstore/vkv"
)

// FuzzParseVersion checks ParseVersion against its definition: it accepts
// exactly the canonical decimal forms of uint64 (ASCII digits, no sign, no
// leading zero, no overflow), each of which String formats back to the
// input, and refuses everything else with an error matching
// ErrInvalidVersion. The number n is checked the other way round: its
// decimal form and its entity tag parse back to n.
func FuzzParseVersion(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string, n uint64) {
		v, err := vkv.ParseVersion(s)
		u, uerr := strconv.ParseUint(s, 10, 64)
		canonical := uerr == nil && strconv.FormatUint(u, 10) == s
		if canonical != (err == nil) {
			t.Fatalf("ParseVersion(%q) = %d, %v; canonical uint64: %v", s, v, err, canonical)
		}
		if err != nil {
			if !errors.Is(err, vkv.ErrInvalidVersion) {
				t.Fatalf("ParseVersion(%q): %v does not match ErrInvalidVersion", s, err)
			}
			var ve *vkv.VersionError
			if !errors.As(err, &ve) || ve.Input != s {
				t.Fatalf("ParseVersion(%q): error %#v does not name the input", s, err)
			}
		} else if uint64(v) != u || v.String() != s {
			t.Fatalf("ParseVersion(%q) = %d, which formats as %q", s, v, v.String())
		}
		if got, err := vkv.ParseVersion(vkv.Version(n).String()); err != nil || got != vkv.Version(n) {
			t.Fatalf("ParseVersion(%q) = %d, %v; want %d", vkv.Version(n).String(), got, err, n)
		}
		if got, err := vkv.ParseETag(vkv.Version(n).ETag()); err != nil || got != vkv.Version(n) {
			t.Fatalf("ParseETag(%q) = %d, %v; want %d", vkv.Version(n).ETag(), got, err, n)
		}
		// An entity tag is the quoted version and nothing else.
		if tv, terr := vkv.ParseETag(`"` + s + `"`); (terr == nil) != (err == nil) || tv != v {
			t.Fatalf("ParseETag(%q) = %d, %v; ParseVersion(%q) = %d, %v", `"`+s+`"`, tv, terr, s, v, err)
		}
	})
}
