package reliability_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// server is a running "vkv serve" process.
type server struct {
	cmd  *exec.Cmd
	dir  string // the data directory
	base string // http://addr, once it listens
	logs *logBuffer
	done chan struct{} // closed when the process has exited
	err  error         // the result of cmd.Wait, once done is closed
	// listening is closed when the server logged its address.
	listening chan struct{}
}

// logBuffer collects a process's stderr.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servingRE = regexp.MustCompile(`msg=serving addr=(\S+)`)

// launch starts bin serve on a free loopback port with data in dir and
// durable writes, and returns at once. With dir "" it passes no -dir (for
// -etcd in extra).
func launch(t *testing.T, bin, dir string, extra ...string) *server {
	t.Helper()
	args := []string{"serve", "-addr", "127.0.0.1:0"}
	if dir != "" {
		args = append(args, "-dir", dir)
	}
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	s := &server{cmd: cmd, dir: dir, logs: &logBuffer{}, done: make(chan struct{}), listening: make(chan struct{})}
	scanned := make(chan struct{})
	go func() {
		s.err = cmd.Wait()
		pw.Close()
		<-scanned // the whole log is in s.logs
		close(s.done)
	}()
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "msg=request ") {
				continue // one line per request: too many to keep
			}
			fmt.Fprintln(s.logs, sc.Text())
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil && s.base == "" {
				s.base = "http://" + m[1]
				close(s.listening)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() { s.kill() })
	return s
}

// startServer launches the server and waits until it listens.
func startServer(t *testing.T, bin, dir string, extra ...string) *server {
	t.Helper()
	s := launch(t, bin, dir, extra...)
	s.waitListening(t)
	return s
}

// waitListening waits until s listens; it fails t if s exits first.
func (s *server) waitListening(t *testing.T) {
	t.Helper()
	select {
	case <-s.listening:
	case <-s.done:
		t.Fatalf("server exited (%v) before listening (%s); log:\n%s", s.err, s.keepDir(), s.logs)
	case <-time.After(60 * time.Second):
		s.kill()
		t.Fatalf("server did not listen within 60s (%s); log:\n%s", s.keepDir(), s.logs)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// stop sends SIGTERM and checks for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
		return
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("server exited with %v; log:\n%s", s.err, s.logs)
		}
	case <-time.After(60 * time.Second):
		s.kill()
		t.Errorf("server did not stop within 60s of SIGTERM; log:\n%s", s.logs)
	}
	if !strings.Contains(s.logs.String(), "store closed") {
		t.Errorf("server log does not say the store was closed:\n%s", s.logs)
	}
}

// keepDir copies the server's data directory to a new directory that
// outlives the test, for a post-mortem, and says where it is.
func (s *server) keepDir() string {
	dst, err := os.MkdirTemp("", "vkv-failed-open-")
	if err == nil {
		err = copyDir(s.dir, dst)
	}
	if err != nil {
		return fmt.Sprintf("could not keep the data directory: %v", err)
	}
	var files []string
	if ents, err := os.ReadDir(dst); err == nil {
		for _, e := range ents {
			if fi, err := e.Info(); err == nil {
				files = append(files, fmt.Sprintf("%s %d", e.Name(), fi.Size()))
			}
		}
	}
	return fmt.Sprintf("data directory kept in %s: %s", dst, strings.Join(files, ", "))
}
