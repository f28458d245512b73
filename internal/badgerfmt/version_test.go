package badgerfmt_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkvstore/vkv/internal/badgerfmt"
)

const badgerModule = "github.com/dgraph-io/badger/v4"

// goModBadger returns the version of Badger that the module's go.mod
// requires, and the replace directive for it, if any. A test binary carries
// no build information about its dependencies, so go.mod is read instead.
func goModBadger(t *testing.T) (version, replace string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	for {
		if data, err = os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = parent
	}
	block := "" // the directive of the ( ... ) block the line is in
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "//")
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			continue
		case block != "" && f[0] == ")":
			block = ""
			continue
		case block == "" && len(f) == 2 && f[1] == "(":
			block = f[0]
			continue
		}
		directive := block
		if block == "" {
			directive, f = f[0], f[1:]
		}
		if len(f) < 2 || f[0] != badgerModule {
			continue
		}
		switch directive {
		case "require":
			version = f[1]
		case "replace":
			replace = strings.Join(f[1:], " ")
		}
	}
	if version == "" {
		t.Fatalf("%s/go.mod does not require %s", dir, badgerModule)
	}
	return version, replace
}

// TestCheckedVersion fails when the Badger this module builds with is not
// the version the facts of this package were checked against.
func TestCheckedVersion(t *testing.T) {
	version, replace := goModBadger(t)
	if replace != "" {
		t.Fatalf("go.mod replaces %s (%s), but package badgerfmt was checked against %s only: re-verify each Badger file:line cited in its doc comments against the replacement, fix what changed, and name the version checked in CheckedVersion",
			badgerModule, replace, badgerfmt.CheckedVersion)
	}
	if version != badgerfmt.CheckedVersion {
		t.Fatalf("go.mod requires %s %s, but package badgerfmt was checked against %s: re-verify each Badger file:line cited in its doc comments against %s, fix what changed, then set CheckedVersion to %s",
			badgerModule, version, badgerfmt.CheckedVersion, version, version)
	}
}
