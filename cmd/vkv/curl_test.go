package main

// A tiny curl for the transcript test (docs_test.go): the docs' console
// blocks call curl, and this test provides it as a command of the test
// binary (testscript.Main puts it on the scripts' PATH), so that no system
// curl is needed. It does what the docs' curl lines do, the way curl does
// it: it writes the request line as given (no path cleaning), prints the
// response head as it came off the wire (header order and spelling
// included), and decodes chunked bodies and trailers.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// curlMain runs curl with args and returns its exit code: 0, 2 for a
// command line it does not know, 7 when the connection fails, 28 when
// -m/--max-time ran out (what came until then has been printed), 56 for an
// error while receiving.
func curlMain(args []string, stdout, stderr io.Writer) int {
	var (
		method, url, dumpHeader, outFile string
		include, silent                  bool
		data                             *string
		headers                          []string
		maxTime                          time.Duration
	)
	next := func(i *int) (string, bool) {
		*i++
		if *i >= len(args) {
			return "", false
		}
		return args[*i], true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var ok = true
		switch {
		case a == "-X" || a == "--request":
			method, ok = next(&i)
		case a == "-H" || a == "--header":
			var h string
			h, ok = next(&i)
			headers = append(headers, h)
		case a == "-d" || a == "--data" || a == "--data-binary":
			var d string
			d, ok = next(&i)
			data = &d
		case a == "-D" || a == "--dump-header":
			dumpHeader, ok = next(&i)
		case a == "-o" || a == "--output":
			outFile, ok = next(&i)
		case a == "-m" || a == "--max-time":
			var s string
			s, ok = next(&i)
			f, err := strconv.ParseFloat(s, 64)
			if ok && err != nil {
				ok = false
			}
			maxTime = time.Duration(f * float64(time.Second))
		case a == "--include":
			include = true
		case a == "--silent" || a == "--no-buffer":
			silent = true
		case len(a) > 1 && a[0] == '-' && a[1] != '-':
			for _, c := range a[1:] {
				switch c {
				case 's':
					silent = true
				case 'i':
					include = true
				case 'N':
				default:
					ok = false
				}
			}
		case !strings.HasPrefix(a, "-") && url == "":
			url = a
		default:
			ok = false
		}
		if !ok {
			fmt.Fprintf(stderr, "curl (test): option %q not supported or missing its argument\n", a)
			return 2
		}
	}
	_ = silent // the test's curl prints no progress meter either way
	rest, ok := strings.CutPrefix(url, "http://")
	if !ok {
		fmt.Fprintf(stderr, "curl (test): only http:// URLs, not %q\n", url)
		return 2
	}
	host, target, _ := strings.Cut(rest, "/")
	target = "/" + target
	if method == "" {
		method = http.MethodGet
		if data != nil {
			method = http.MethodPost
		}
	}

	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: curl/8.14.1\r\nAccept: */*\r\n", method, target, host)
	hasType := false
	for _, h := range headers {
		name, _, _ := strings.Cut(h, ":")
		if strings.EqualFold(strings.TrimSpace(name), "Content-Type") {
			hasType = true
		}
		req.WriteString(h + "\r\n")
	}
	if data != nil {
		if !hasType {
			req.WriteString("Content-Type: application/x-www-form-urlencoded\r\n")
		}
		fmt.Fprintf(&req, "Content-Length: %d\r\n", len(*data))
	}
	req.WriteString("\r\n")
	if data != nil {
		req.WriteString(*data)
	}

	conn, err := net.Dial("tcp", host)
	if err != nil {
		return 7
	}
	defer conn.Close()
	if maxTime > 0 {
		conn.SetDeadline(time.Now().Add(maxTime))
	}
	if _, err := conn.Write(req.Bytes()); err != nil {
		return 55
	}

	// The head, as it came.
	br := bufio.NewReader(conn)
	var head bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			return curlErr(err)
		}
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	var headOut io.Writer = io.Discard
	switch {
	case dumpHeader == "-":
		headOut = stdout
	case dumpHeader != "":
		f, err := os.Create(dumpHeader)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 23
		}
		defer f.Close()
		headOut = f
	case include:
		headOut = stdout
	}
	headOut.Write(head.Bytes())

	var body io.Writer = stdout
	if outFile != "" {
		f, err := os.Create(outFile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 23
		}
		defer f.Close()
		body = f
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(&head, br)), &http.Request{Method: method})
	if err != nil {
		return 56
	}
	if _, err := io.Copy(body, resp.Body); err != nil {
		return curlErr(err)
	}
	for name, vs := range resp.Trailer {
		for _, v := range vs {
			fmt.Fprintf(headOut, "%s: %s\r\n", name, v)
		}
	}
	return 0
}

// curlErr is the exit code of a failed read: 28 for a timeout, 56
// otherwise.
func curlErr(err error) int {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return 28
	}
	return 56
}
