package httpapi

import (
	"maps"
	"slices"

	"github.com/vkvstore/vkv/wire"
)

// ProblemNames returns the name of every problem type the handler answers
// with, for the tests of httpapi_test.
func ProblemNames() []string {
	names := slices.Collect(maps.Keys(titles))
	names = append(names, wire.ProblemNotImplemented)
	slices.Sort(names)
	return names
}

// CutInstance is the instance member of a problem answering path.
func CutInstance(path string) string { return cutInstance(path) }
