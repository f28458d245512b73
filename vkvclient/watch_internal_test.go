package vkvclient

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSSEReader: the stream parser takes LF, CRLF and lone CR line ends,
// joins data lines, skips comments and unknown fields, dispatches only
// events with data, and reports a cut-off stream and an over-long line.
func TestSSEReader(t *testing.T) {
	in := ": hello\n\nid: 1\nevent: put\ndata: {\"a\":1}\n\n" +
		"event: delete\r\ndata:x\r\ndata: y\r\nretry: 10\r\nunknown\r\n\r\n" +
		"event: ignored-without-data\n\n" +
		"event: error\rdata: z\r\r" +
		"data: tail"
	rd := &sseReader{r: bufio.NewReaderSize(strings.NewReader(in), 16)}
	var got []sseEvent
	alive := 0
	for {
		ev, err := rd.next(func() { alive++ })
		if err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("end of stream: %v, want io.ErrUnexpectedEOF", err)
			}
			break
		}
		got = append(got, ev)
	}
	want := []sseEvent{
		{event: "put", data: []byte(`{"a":1}`)},
		{event: "delete", data: []byte("x\ny")},
		{event: "error", data: []byte("z")},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(sseEvent{})); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if alive == 0 {
		t.Error("alive was never called")
	}

	long := &sseReader{r: bufio.NewReader(strings.NewReader("data: " + strings.Repeat("x", maxEventSize) + "\n\n"))}
	if _, err := long.next(func() {}); !errors.As(err, new(errEventTooLarge)) {
		t.Errorf("a line over maxEventSize: %v, want errEventTooLarge", err)
	}
}
