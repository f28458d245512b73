package reliability_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// long selects the long mode: more operations and crash cycles. VKV_LONG=1
// selects it too.
var long = flag.Bool("long", false, "run the long versions of the reliability checks (also VKV_LONG=1)")

// longMode reports whether the long mode is on.
func longMode() bool {
	return *long || os.Getenv("VKV_LONG") == "1"
}

// binDir holds the vkv binary built for this test process.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "vkv-reliability-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(binDir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines left after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// vkvBinary builds cmd/vkv once per test process and returns its path.
func vkvBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "vkv")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/vkvstore/vkv/cmd/vkv").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/vkv: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}
