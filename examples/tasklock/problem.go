package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vkvstore/vkv"
)

// problemBase is where the problem types of this service are described:
// each type is this URL and the problem's name as the fragment.
const problemBase = "https://github.com/vkvstore/vkv/blob/main/examples/README.md#"

// titles are the titles of the problem names, one per type.
var titles = map[string]string{
	"task-already-running":   "Task already running",
	"invalid-request":        "Invalid request",
	"unsupported-media-type": "Unsupported media type",
	"method-not-allowed":     "Method not allowed",
	"not-found":              "Not found",
	"unavailable":            "Service unavailable",
	"insufficient-storage":   "Insufficient storage",
	"internal":               "Internal server error",
}

// problem is an RFC 9457 problem details object. The members after Instance
// are extensions of the task-already-running type.
type problem struct {
	name string // the type's fragment; sets Type and Title

	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance,omitempty"`

	Task           string      `json:"task,omitempty"`
	RunningTaskID  string      `json:"runningTaskId,omitempty"`
	RunningSince   *time.Time  `json:"runningSince,omitempty"`
	FencingToken   vkv.Version `json:"fencingToken,omitempty"`
	LeaseExpiresAt *time.Time  `json:"leaseExpiresAt,omitempty"`
}

// invalid is a 400 problem.
func invalid(format string, args ...any) *problem {
	return &problem{Status: http.StatusBadRequest, name: "invalid-request", Detail: fmt.Sprintf(format, args...)}
}

// storeProblem turns an error of the store into a problem: 503 when the
// store is closed or the request ended, 507 when its disk is full, 500
// otherwise.
func storeProblem(err error) *problem {
	switch {
	case errors.Is(err, vkv.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &problem{Status: http.StatusServiceUnavailable, name: "unavailable", Detail: "the store is unavailable: " + err.Error()}
	case errors.Is(err, vkv.ErrInsufficientStorage):
		return &problem{Status: http.StatusInsufficientStorage, name: "insufficient-storage", Detail: err.Error()}
	default:
		// The cause stays in the log.
		return &problem{Status: http.StatusInternalServerError, name: "internal", Detail: "the service failed; see its log"}
	}
}

// methodNotAllowed answers a method a route does not serve.
func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeProblem(w, r, &problem{Status: http.StatusMethodNotAllowed, name: "method-not-allowed",
			Detail: fmt.Sprintf("%s is not allowed here; allowed: %s", r.Method, allow)})
	}
}

// writeProblem writes p as application/problem+json. Instance defaults to
// the request's path.
func writeProblem(w http.ResponseWriter, r *http.Request, p *problem) {
	p.Type = problemBase + p.name
	p.Title = titles[p.name]
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}
