package vkvclient

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzSSEReader parses arbitrary watch streams, as a hostile or broken
// server could send them, delivered in reads of chunk bytes through a
// 16-byte buffer so that line ends fall across reads. The parser must never
// panic, must end with io.ErrUnexpectedEOF, and must dispatch exactly the
// events that refSSE, a line-by-line transcription of the HTML standard's
// event-stream rules, finds.
func FuzzSSEReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		n := int(chunk%8) + 1
		rd := &sseReader{r: bufio.NewReaderSize(&chunkReader{b: stream, n: n}, 16)}
		var got []sseEvent
		for {
			ev, err := rd.next(func() {})
			if err != nil {
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("stream %q: ended with %v, want io.ErrUnexpectedEOF", stream, err)
				}
				break
			}
			got = append(got, ev)
			if len(got) > len(stream) {
				t.Fatalf("stream %q: more events than bytes", stream)
			}
		}
		if diff := cmp.Diff(refSSE(stream), got, cmp.AllowUnexported(sseEvent{}), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("stream %q in reads of %d bytes (-reference +parser):\n%s", stream, n, diff)
		}
	})
}

// refSSE parses stream as the HTML standard's "event stream interpretation"
// says, keeping the event type and data of each dispatched event. A last
// event not followed by a blank line is not dispatched. (The standard's
// leading byte-order mark, which vkv's server never sends, is not handled;
// neither does sseReader.)
func refSSE(stream []byte) []sseEvent {
	var lines [][]byte
	for len(stream) > 0 {
		i := bytes.IndexAny(stream, "\r\n")
		if i < 0 {
			break // no line end: the stream was cut in the middle of a line
		}
		lines = append(lines, stream[:i])
		if stream[i] == '\r' && i+1 < len(stream) && stream[i+1] == '\n' {
			i++
		}
		stream = stream[i+1:]
	}
	var (
		out       []sseEvent
		eventType string
		data      []byte
		hasData   bool // the data buffer is not empty: it holds at least an LF
	)
	for _, line := range lines {
		switch {
		case len(line) == 0:
			if hasData {
				// The data buffer with its last LF removed.
				out = append(out, sseEvent{event: eventType, data: data[:len(data)-1]})
			}
			eventType, data, hasData = "", nil, false
		case line[0] == ':':
		default:
			field, value, found := bytes.Cut(line, []byte(":"))
			if found && len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
			switch string(field) {
			case "event":
				eventType = string(value)
			case "data":
				data = append(append(data, value...), '\n')
				hasData = true
			}
		}
	}
	return out
}

// chunkReader reads b at most n bytes at a time.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}
