package wire_test

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const module = "github.com/vkvstore/vkv"

// serverPackages are the packages of the server side: a client or a
// metrics implementation that depends on one of them builds the handler
// (and, through cmd/vkv, the whole server) into every program that uses it.
var serverPackages = []string{module + "/httpapi", module + "/cmd/vkv"}

// TestDependencies checks the layering the wire package exists for: the Go
// client and the metrics package speak the wire format without depending on
// the server, and wire itself depends on neither side. It runs
// go list -deps, so it sees indirect imports too.
func TestDependencies(t *testing.T) {
	for _, tc := range []struct {
		pkg       string
		forbidden []string
		reason    string
	}{
		{pkg: module + "/vkvclient", forbidden: serverPackages,
			reason: "the client shares package wire with the server, not the server itself"},
		{pkg: module + "/metrics", forbidden: serverPackages,
			reason: "metrics counts wire.RequestRecords; httpapi hands them over"},
		{pkg: module + "/wire", forbidden: append([]string{module + "/vkvclient", module + "/metrics"}, serverPackages...),
			reason: "wire is the format both sides share, so it imports neither"},
	} {
		deps := goListDeps(t, tc.pkg)
		if !slices.Contains(deps, module+"/wire") && tc.pkg != module+"/wire" {
			t.Errorf("%s does not depend on %s/wire: the test lists the wrong packages", tc.pkg, module)
		}
		var bad []string
		for _, d := range deps {
			if slices.Contains(tc.forbidden, d) {
				bad = append(bad, d)
			}
		}
		if diff := cmp.Diff([]string(nil), bad); diff != "" {
			t.Errorf("%s depends on server packages (%s) (-want +got):\n%s", tc.pkg, tc.reason, diff)
		}
	}
}

// goListDeps returns the import paths pkg depends on, itself included, as
// go list -deps reports them (not counting test files).
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	// go test puts $GOROOT/bin first in the PATH of the tests it runs.
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}
