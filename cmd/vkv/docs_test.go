package main

// TestDocTranscripts replays the console blocks of README.md and docs/*.md.

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"
)

var updateDocs = flag.Bool("update-docs", false, "write what the commands print into the console blocks of README.md and docs/*.md")

// notReplayed lists the console blocks the transcript test does not run,
// by file and first command, with the reason. Each is marked in its doc by
// the line notReplayedMarker + reason right above it; the test fails when
// a mark and this list disagree.
var notReplayed = map[string]string{
	"docs/cli.md: vkv backup":                     "needs a terminal",
	"docs/cli.md: vkv backup -out nightly.backup": "needs a terminal",
	"docs/http.md: curl -s -N 'http://127.0.0.1:8080/v1/watch?prefix=orders/'     # the server gets SIGTERM": "needs a SIGTERM to the server during the stream",
	"docs/operations.md: vkv serve -addr 127.0.0.1:0 -dir ./pprof-data -pprof 127.0.0.1:0":                   "a heap profile differs from run to run",
}

// notReplayedMarker starts the line right above a console block that the
// test does not replay; the reason follows, then "_".
const notReplayedMarker = "_Not replayed by the docs test: "

// docCmd is one command of a console block and what the doc shows it print.
type docCmd struct {
	line int      // 1-based line of "$ " in the doc
	text string   // the command, continuation lines joined with "\n"
	want []string // the output lines
	// outStart and outEnd are the 0-based lines of the output in the doc,
	// [outStart, outEnd).
	outStart, outEnd int
}

// docBlock is a console block.
type docBlock struct {
	line        int // 1-based line of the opening fence
	cmds        []docCmd
	notReplayed string // the reason given by the marker, if any
}

// parseDoc returns the console blocks of a Markdown document.
func parseDoc(lines []string) ([]docBlock, error) {
	var blocks []docBlock
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```console" {
			continue
		}
		b := docBlock{line: i + 1}
		for j := i - 1; j >= 0; j-- {
			if strings.TrimSpace(lines[j]) == "" {
				continue
			}
			if r, ok := strings.CutPrefix(lines[j], notReplayedMarker); ok {
				b.notReplayed = strings.TrimSuffix(r, "_")
			}
			break
		}
		j := i + 1
		for ; j < len(lines) && lines[j] != "```"; j++ {
			l := lines[j]
			switch {
			case strings.HasPrefix(l, "$ "):
				b.cmds = append(b.cmds, docCmd{line: j + 1, text: l[2:], outStart: j + 1, outEnd: j + 1})
			case len(b.cmds) == 0:
				return nil, fmt.Errorf("line %d: a console block must start with a command (\"$ \")", j+1)
			case strings.HasPrefix(l, "> ") && len(b.cmds[len(b.cmds)-1].want) == 0:
				c := &b.cmds[len(b.cmds)-1]
				c.text += "\n" + l[2:]
				c.outStart, c.outEnd = j+1, j+1
			default:
				c := &b.cmds[len(b.cmds)-1]
				c.want = append(c.want, l)
				c.outEnd = j + 1
			}
		}
		if j == len(lines) {
			return nil, fmt.Errorf("line %d: console block not closed", i+1)
		}
		blocks = append(blocks, b)
		i = j
	}
	return blocks, nil
}

// masks hide what differs from run to run: request ids, dates and times,
// durations. They apply to what the doc shows and to what the command
// printed alike.
var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^(X-Request-Id: ).*$`), "${1}<id>"},
	{regexp.MustCompile(`(?m)^(Date: ).*$`), "${1}<date>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "<time>"},
	{regexp.MustCompile(`\bin \d[\d.]*(ns|µs|ms|s|m|h)([\d.]+(ns|µs|ms|s|m))*\b`), "in <duration>"},
	{regexp.MustCompile(`(?m)^(vkv_http_request_duration_seconds_sum\{.*\} ).*$`), "${1}<seconds>"},
	// A backup's size depends on Badger's internal commit timestamps,
	// which vary from run to run.
	{regexp.MustCompile(`(?m)^\d+ (\S+\.backup)$`), "<bytes> ${1}"},
	{regexp.MustCompile(`\b(wrote|restored) \d+ bytes\b`), "${1} <bytes> bytes"},
	{regexp.MustCompile(`(?m)^(Vkv-Backup-Size: )\d+`), "${1}<bytes>"},
}

func mask(s string) string {
	for _, m := range masks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

var portRE = regexp.MustCompile(`\b(127\.0\.0\.1|localhost):(\d+)\b`)

// docRun is the state of one doc's script.
type docRun struct {
	file  string // relative to the module root, as in notReplayed
	lines []string
	cmds  []docCmd          // the commands replayed, in order
	ports map[string]string // the doc's port -> the port of this run
	mu    sync.Mutex
	got   map[int][]string // command index -> output lines, for -update-docs
}

// subst replaces the doc's ports in a command with this run's.
func (r *docRun) subst(s string) string {
	return portRE.ReplaceAllStringFunc(s, func(m string) string {
		host, port, _ := strings.Cut(m, ":")
		if p, ok := r.ports[port]; ok {
			return host + ":" + p
		}
		return m
	})
}

// unsubst puts the doc's ports back into what a command printed.
func (r *docRun) unsubst(s string) string {
	for doc, run := range r.ports {
		s = strings.ReplaceAll(s, "127.0.0.1:"+run, "127.0.0.1:"+doc)
		s = strings.ReplaceAll(s, "localhost:"+run, "localhost:"+doc)
	}
	return s
}

// check compares what command i printed with the doc.
func (r *docRun) check(ts *testscript.TestScript, i int, got string) {
	got = strings.ReplaceAll(r.unsubst(got), "\r\n", "\n")
	if got != "" && !strings.HasSuffix(got, "\n") {
		got += "\n" // a transcript shows the next prompt on a line of its own
	}
	gotLines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if got == "" {
		gotLines = nil
	}
	c := r.cmds[i]
	want := strings.Join(c.want, "\n")
	if len(c.want) > 0 {
		want += "\n"
	}
	diff := cmp.Diff(mask(want), mask(got))
	if *updateDocs {
		if diff != "" { // else keep the doc's ids and dates: no churn
			r.mu.Lock()
			r.got[i] = gotLines
			r.mu.Unlock()
		}
		return
	}
	if diff != "" {
		ts.Fatalf("%s:%d: $ %s\noutput differs from the doc (-doc +got):\n%s", r.file, c.line, c.text, diff)
	}
}

// serveRE matches the lines that start a server: the doc runs it in the
// background (&) or, as "go run", in a terminal of its own.
var serveRE = regexp.MustCompile(`^(?:go run \./cmd/vkv|\./vkv|vkv) serve((?: [^&#]*?)?)\s*&?$`)

// script returns the testscript of the doc and the files it needs.
func (r *docRun) script() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# %s, generated by TestDocTranscripts\n", r.file)
	fmt.Fprintf(&s, "env VKV_ENDPOINT=http://127.0.0.1:%s\n", r.ports["8080"])
	var files strings.Builder
	for i, c := range r.cmds {
		fmt.Fprintf(&s, "\n# %s:%d\n", r.file, c.line)
		text := r.subst(c.text)
		switch {
		case serveRE.MatchString(text):
			args := strings.Fields(serveRE.FindStringSubmatch(text)[1])
			if !strings.Contains(text, " -addr ") {
				args = append([]string{"-addr", "127.0.0.1:" + r.ports["8080"]}, args...)
			}
			fmt.Fprintf(&s, "docserve %d %s\n", i, strings.Join(args, " "))
		case strings.HasPrefix(text, "export "):
			fmt.Fprintf(&s, "env %s\n", strings.TrimPrefix(text, "export "))
		case text == "go build -o vkv ./cmd/vkv":
			// The test binary is vkv (testscript.Main): link it.
			fmt.Fprintf(&s, "exec bash -c 'ln -s \"$(command -v vkv)\" vkv'\ndocout %d\n", i)
		default:
			fmt.Fprintf(&s, "exec bash .doc/sh .doc/%d.sh\ndocout %d\n", i, i)
			fmt.Fprintf(&files, "-- .doc/%d.sh --\n%s\n", i, text)
		}
	}
	s.WriteString("\n-- .doc/sh --\n")
	s.WriteString(`# Runs the command in $1 as a line typed at a shell: $? is the status of the
# previous command, stderr goes where stdout goes.
(exit "$(cat .doc/status 2>/dev/null || echo 0)")
. "$1" 2>&1
echo $? >.doc/status
`)
	s.WriteString(files.String())
	return s.String()
}

// serve starts "vkv serve args" in the background, waits for the lines the
// doc shows it log and compares them; the server gets SIGTERM when the
// script ends.
func (r *docRun) serve(ts *testscript.TestScript, i int, args []string) {
	bin, err := exec.LookPath("vkv")
	ts.Check(err)
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Dir = ts.MkAbs(".")
	logs := &syncBuffer{}
	cmd.Stderr = logs
	cmd.Stdout = logs
	ts.Check(cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ts.Defer(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	n := max(len(r.cmds[i].want), 1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := logs.String()
		if strings.Count(out, "\n") >= n {
			lines := strings.SplitAfterN(out, "\n", n+1)
			r.check(ts, i, strings.Join(lines[:n], ""))
			return
		}
		select {
		case err := <-done:
			done <- err
			r.check(ts, i, logs.String())
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			ts.Fatalf("vkv serve %s: no log line within 30s", strings.Join(args, " "))
		}
	}
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestDocTranscripts replays every console block of README.md and
// docs/*.md, in order, one doc per script against its own fresh server(s),
// with testscript, and compares what each command prints with what the doc
// shows (ids, dates and durations masked; the doc's ports are mapped to
// free ones). vkv is this test binary and curl a tiny built-in
// (curl_test.go); the other commands run in bash. Blocks marked
// notReplayedMarker are skipped, and must be in notReplayed.
//
// With -update-docs the outputs in the docs are rewritten with what the
// commands print.
func TestDocTranscripts(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	docs = append([]string{"../../README.md"}, docs...)
	dir := t.TempDir()
	runs := map[string]*docRun{}
	var files []string
	marked := map[string]bool{}
	for _, path := range docs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(path, "../../")
		r := &docRun{file: rel, lines: strings.Split(string(b), "\n"), ports: map[string]string{}, got: map[int][]string{}}
		blocks, err := parseDoc(r.lines)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		for _, b := range blocks {
			id := rel + ": " + b.cmds[0].text
			if b.notReplayed != "" {
				marked[id] = true
				if why, ok := notReplayed[id]; !ok {
					t.Errorf("%s:%d: marked as not replayed (%s) but not in notReplayed as %q", rel, b.line, b.notReplayed, id)
				} else if why != b.notReplayed {
					t.Errorf("%s:%d: the mark says %q, notReplayed %q", rel, b.line, b.notReplayed, why)
				}
				continue
			}
			for _, c := range b.cmds {
				if strings.HasPrefix(c.text, "export ") && len(c.want) > 0 {
					t.Errorf("%s:%d: export prints nothing, but the doc shows output", rel, c.line)
				}
			}
			r.cmds = append(r.cmds, b.cmds...)
		}
		if len(r.cmds) == 0 {
			continue
		}
		r.ports["8080"] = freePort(t)
		for _, c := range r.cmds {
			for _, m := range portRE.FindAllStringSubmatch(c.text, -1) {
				if _, ok := r.ports[m[2]]; !ok && m[2] != "0" {
					r.ports[m[2]] = freePort(t)
				}
			}
		}
		name := strings.ReplaceAll(strings.TrimSuffix(rel, ".md"), "/", "_")
		runs[name] = r
		f := filepath.Join(dir, name+".txtar")
		if err := os.WriteFile(f, []byte(r.script()), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for id := range notReplayed {
		if !marked[id] {
			t.Errorf("notReplayed lists %q, which no doc marks with %q", id, notReplayedMarker)
		}
	}

	runOf := func(ts *testscript.TestScript) *docRun {
		return runs[ts.Getenv("DOCSCRIPT")]
	}
	index := func(ts *testscript.TestScript, s string) int {
		i, err := strconv.Atoi(s)
		ts.Check(err)
		return i
	}
	t.Run("doc", func(t *testing.T) {
		testscript.Run(t, testscript.Params{
			Files: files,
			Setup: func(env *testscript.Env) error {
				// testscript names the script's directory after the file.
				env.Setenv("DOCSCRIPT", strings.TrimPrefix(filepath.Base(env.WorkDir), "script-"))
				return nil
			},
			Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
				// docout I compares the output of the last exec with command I's.
				"docout": func(ts *testscript.TestScript, neg bool, args []string) {
					runOf(ts).check(ts, index(ts, args[0]), ts.ReadFile("stdout"))
				},
				// docserve I ARGS... starts vkv serve ARGS for command I.
				"docserve": func(ts *testscript.TestScript, neg bool, args []string) {
					runOf(ts).serve(ts, index(ts, args[0]), args[1:])
				},
			},
		})
	})
	if !*updateDocs || t.Failed() {
		return
	}
	for _, r := range runs {
		out := append([]string(nil), r.lines...)
		// From the last command up, so that line numbers stay valid.
		for i := len(r.cmds) - 1; i >= 0; i-- {
			got, ok := r.got[i]
			if !ok {
				continue
			}
			c := r.cmds[i]
			out = append(out[:c.outStart], append(append([]string(nil), got...), out[c.outEnd:]...)...)
		}
		if err := os.WriteFile("../../"+r.file, []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
