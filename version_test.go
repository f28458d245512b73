package vkv_test

import (
	"errors"
	"testing"

	"github.com/vkvstore/vkv"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in     string
		want   vkv.Version
		ok     bool
		reason string
	}{
		{"0", 0, true, "zero means absent"},
		{"7", 7, true, ""},
		{"18446744073709551615", 1<<64 - 1, true, "max uint64"},
		{"18446744073709551616", 0, false, "overflow"},
		{"99999999999999999999", 0, false, "overflow, 20 digits"},
		{"", 0, false, "empty"},
		{"-1", 0, false, "sign"},
		{"+1", 0, false, "sign"},
		{"007", 0, false, "leading zeros"},
		{" 7", 0, false, "space"},
		{"7 ", 0, false, "space"},
		{"1e3", 0, false, "exponent"},
		{"0x10", 0, false, "hex"},
		{"abc", 0, false, "letters"},
		{"٣", 0, false, "non-ASCII digit"},
	}
	for _, tt := range tests {
		got, err := vkv.ParseVersion(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseVersion(%q) = %d, %v; want %d, ok=%v (%s)", tt.in, got, err, tt.want, tt.ok, tt.reason)
		}
		if err != nil && !errors.Is(err, vkv.ErrInvalidVersion) {
			t.Errorf("ParseVersion(%q) error %v does not match ErrInvalidVersion", tt.in, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("ParseVersion(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestParseETag(t *testing.T) {
	tests := []struct {
		in   string
		want vkv.Version
		ok   bool
	}{
		{`"7"`, 7, true},
		{`"0"`, 0, true},
		{`7`, 0, false},
		{`W/"7"`, 0, false},
		{`*`, 0, false},
		{`"7", "8"`, 0, false},
		{`""`, 0, false},
		{`"`, 0, false},
		{`"07"`, 0, false},
		{`"-7"`, 0, false},
		{`"18446744073709551616"`, 0, false},
	}
	for _, tt := range tests {
		got, err := vkv.ParseETag(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseETag(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, vkv.ErrInvalidVersion) {
			t.Errorf("ParseETag(%q) error %v does not match ErrInvalidVersion", tt.in, err)
		}
		if err == nil && got.ETag() != tt.in {
			t.Errorf("ParseETag(%q).ETag() = %q", tt.in, got.ETag())
		}
	}
}

func FuzzParseETag(f *testing.F) {
	for _, s := range []string{`"7"`, `W/"7"`, `*`, `"18446744073709551615"`, `""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := vkv.ParseETag(s)
		if err != nil {
			if !errors.Is(err, vkv.ErrInvalidVersion) {
				t.Fatalf("ParseETag(%q): %v does not match ErrInvalidVersion", s, err)
			}
			return
		}
		if v.ETag() != s {
			t.Fatalf("ParseETag(%q) = %d, which formats as %q", s, v, v.ETag())
		}
	})
}
