package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressThrottle is the shortest time between two redraws of a progress
// bar: often enough to look live, rarely enough to cost nothing.
const progressThrottle = 100 * time.Millisecond

// terminalWriter reports whether w is a terminal, by golang.org/x/term;
// the cliEnv of a test replaces it (cliEnv.terminal).
func terminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stderrTerminal reports whether the commands run with ctx should draw
// progress on stderr.
func stderrTerminal(ctx context.Context, stderr io.Writer) bool {
	if t := envOf(ctx).terminal; t != nil {
		return t(stderr)
	}
	return terminalWriter(stderr)
}

// progress is a progress bar of long work (vkv backup, vkv restore) on
// stderr: bytes so far (of total when known), rate and elapsed time. It is
// an io.Writer that counts what is written to it. A nil *progress, what
// newProgress returns when stderr is not a terminal, draws nothing, so that
// scripts and logs get only the command's own output.
type progress struct {
	bar    *progressbar.ProgressBar
	stderr io.Writer
}

// newProgress returns the progress bar of the work named what on stderr,
// or nil when stderr is not a terminal. total is the expected number of
// bytes, or -1 when unknown (a spinner then replaces the bar).
func newProgress(ctx context.Context, stderr io.Writer, what string, total int64) *progress {
	if !stderrTerminal(ctx, stderr) {
		return nil
	}
	return &progress{stderr: stderr, bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(total > 0),
		progressbar.OptionThrottle(progressThrottle),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionFullWidth(),
		progressbar.OptionSetRenderBlankState(true),
	)}
}

// Write counts len(p) bytes of progress.
func (p *progress) Write(b []byte) (int, error) {
	if p != nil {
		p.bar.Add64(int64(len(b)))
	}
	return len(b), nil
}

// writer returns w, counted by p on the way when p draws.
func (p *progress) writer(w io.Writer) io.Writer {
	if p == nil {
		return w
	}
	return io.MultiWriter(w, p)
}

// reader returns r, counted by p on the way when p draws.
func (p *progress) reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return io.TeeReader(r, p)
}

// done draws the final state and ends the bar's line, so that what the
// command prints next starts on a line of its own.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.bar.Finish()
	fmt.Fprintln(p.stderr)
}

// sizeOf returns the size of r if it is a regular file, else -1.
func sizeOf(r io.Reader) int64 {
	f, ok := r.(*os.File)
	if !ok {
		return -1
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return -1
	}
	return fi.Size()
}
