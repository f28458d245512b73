package reliability_test

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// maxKeys is the most keys one history uses; the model's state is a fixed
// array so that states compare with ==.
const maxKeys = 4

// opKind is the operation of one history entry.
type opKind uint8

const (
	opGet opKind = iota
	opPut
	opCAS
	opDelete
	opCAD
	opTxn  // Update: read keys Key and Key2, write Value to Key and Value2 to Key2
	opView // View: read keys Key and Key2 from one snapshot
)

var opNames = [...]string{"Get", "Put", "CAS", "Delete", "CAD", "Txn", "View"}

func (k opKind) String() string { return opNames[k] }

// writes reports whether the operation can change the store.
func (k opKind) writes() bool { return k != opGet && k != opView }

// kvInput is what a client asked.
type kvInput struct {
	Op       opKind
	Key      int    // index of the key
	Key2     int    // second key of Txn and View
	Value    string // value written by Put, CAS and Txn (to Key)
	Value2   string // value Txn writes to Key2
	Expected uint64 // expected version of CAS and CAD (0: absent)
}

// status is how an operation ended.
type status uint8

const (
	stOK       status = iota // it succeeded
	stNotFound               // Get, Delete or CAD of an absent key
	stConflict               // CAS or CAD whose condition failed
)

// read is one key as an operation saw it.
type read struct {
	Found   bool
	Value   string
	Version uint64
	Create  uint64
}

func (r read) String() string {
	if !r.Found {
		return "absent"
	}
	return fmt.Sprintf("%q@%d(c%d)", r.Value, r.Version, r.Create)
}

// kvOutput is what the client was answered.
type kvOutput struct {
	// Unknown marks an operation that ended without an answer (a context
	// or transport error): it may or may not have taken effect.
	Unknown bool
	Status  status
	// Version is the new version of a successful write, or the Actual
	// version of a conflict.
	Version uint64
	// Read is the entry a Get returned, or the Current entry of a conflict
	// (Found false when the conflict carried none).
	Read read
	// Reads are what Txn and View read of Key and Key2.
	Reads [2]read
}

// createMode says what the model knows of a key's create version.
type createMode uint8

const (
	createKnown     createMode = iota // register.Create is exact
	createIsVersion                   // the create version is the (unknown) version
	createAny                         // unknown: any create version is accepted
)

// register is the model's view of one key.
type register struct {
	Exists bool
	Value  string
	// Version is the key's version when Known; otherwise an exclusive lower
	// bound of it (the key was written by an operation whose outcome is
	// unknown). An absent key is always Known at version 0.
	Version uint64
	Known   bool
	Create  uint64
	CMode   createMode
}

// kvState is the state of the model: the keys of the history and Max, an
// inclusive bound of every version handed out so far. A successful write
// must return a version above Max.
type kvState struct {
	Regs [maxKeys]register
	Max  uint64
}

func absent() register { return register{Known: true} }

func initState() kvState {
	var s kvState
	for i := range s.Regs {
		s.Regs[i] = absent()
	}
	return s
}

// version returns the key's version for a condition: exact, or ok false
// when the key exists at an unknown version.
func (r register) version() (v uint64, ok bool) {
	if !r.Exists {
		return 0, true
	}
	return r.Version, r.Known
}

// observe checks that the key may be seen as got and returns the register
// with what got teaches: an unknown version or create version becomes known.
func (r register) observe(got read) (register, bool) {
	if got.Found != r.Exists {
		return r, false
	}
	if !got.Found {
		return r, true
	}
	if got.Value != r.Value {
		return r, false
	}
	if r.Known {
		if got.Version != r.Version {
			return r, false
		}
	} else if got.Version <= r.Version {
		return r, false
	}
	switch r.CMode {
	case createKnown:
		if got.Create != r.Create {
			return r, false
		}
	case createIsVersion:
		if got.Create != got.Version {
			return r, false
		}
	}
	return register{Exists: true, Value: got.Value, Version: got.Version, Known: true, Create: got.Create, CMode: createKnown}, true
}

// learn returns r with its version set to v, for a condition that held or a
// conflict that reported v; ok is false if r cannot be at v.
func (r register) learn(v uint64) (register, bool) {
	cur, known := r.version()
	if known {
		return r, cur == v
	}
	if v <= r.Version {
		return r, false
	}
	r.Version, r.Known = v, true
	if r.CMode == createIsVersion {
		r.Create, r.CMode = v, createKnown
	}
	return r, true
}

// written returns the register after a write of value at version v; known
// is false when v is unknown, and v is then its exclusive lower bound.
func (r register) written(value string, v uint64, known bool) register {
	n := register{Exists: true, Value: value, Version: v, Known: known}
	switch {
	case !r.Exists && known:
		n.Create = v
	case !r.Exists:
		n.CMode = createIsVersion
	case r.CMode == createKnown:
		n.Create = r.Create
	case r.CMode == createIsVersion && r.Known:
		n.Create = r.Version
	default:
		n.CMode = createAny
	}
	return n
}

// stepKV is the sequential specification of the store: every state the store
// can be in after running in on s and answering out. A known outcome gives
// at most one state; an unknown outcome also gives s itself (the operation
// did not take effect).
func stepKV(s kvState, in kvInput, out kvOutput) []kvState {
	if out.Unknown {
		next := []kvState{s}
		if a, ok := applyUnknown(s, in); ok {
			next = append(next, a)
		}
		return next
	}
	if n, ok := applyKnown(s, in, out); ok {
		return []kvState{n}
	}
	return nil
}

// newVersion checks that a write's version v is above every version handed
// out before it and records it.
func newVersion(s *kvState, v uint64) bool {
	if v <= s.Max {
		return false
	}
	s.Max = v
	return true
}

func applyKnown(s kvState, in kvInput, out kvOutput) (kvState, bool) {
	r := s.Regs[in.Key]
	var ok bool
	switch in.Op {
	case opGet:
		if out.Status != stOK && out.Status != stNotFound {
			return s, false
		}
		s.Regs[in.Key], ok = r.observe(out.Read)
		if ok && out.Read.Found && out.Read.Version > s.Max {
			s.Max = out.Read.Version
		}
		return s, ok

	case opPut:
		if out.Status != stOK || !newVersion(&s, out.Version) {
			return s, false
		}
		s.Regs[in.Key] = r.written(in.Value, out.Version, true)
		return s, true

	case opDelete:
		switch out.Status {
		case stNotFound:
			return s, !r.Exists
		case stOK:
			if !r.Exists || !newVersion(&s, out.Version) {
				return s, false
			}
			s.Regs[in.Key] = absent()
			return s, true
		}
		return s, false

	case opCAS, opCAD:
		switch out.Status {
		case stConflict:
			if out.Version == in.Expected {
				return s, false
			}
			if r, ok = r.learn(out.Version); !ok {
				return s, false
			}
			if out.Read.Found {
				// The conflict carried the current entry: check it.
				if r, ok = r.observe(out.Read); !ok || out.Read.Version != out.Version {
					return s, false
				}
			} else if out.Version != 0 && !r.Exists {
				return s, false
			}
			if out.Version > s.Max {
				s.Max = out.Version
			}
			s.Regs[in.Key] = r
			return s, true
		case stNotFound:
			// Only CAD expecting 0 of an absent key: the condition
			// held and there was nothing to delete.
			return s, in.Op == opCAD && in.Expected == 0 && !r.Exists
		case stOK:
			if r, ok = r.learn(in.Expected); !ok {
				return s, false
			}
			if in.Op == opCAD && !r.Exists {
				return s, false
			}
			if in.Expected > s.Max {
				s.Max = in.Expected
			}
			if !newVersion(&s, out.Version) {
				return s, false
			}
			if in.Op == opCAD {
				s.Regs[in.Key] = absent()
			} else {
				s.Regs[in.Key] = r.written(in.Value, out.Version, true)
			}
			return s, true
		}
		return s, false

	case opTxn, opView:
		if out.Status != stOK {
			return s, false
		}
		keys := [2]int{in.Key, in.Key2}
		for i, k := range keys {
			if s.Regs[k], ok = s.Regs[k].observe(out.Reads[i]); !ok {
				return s, false
			}
			if out.Reads[i].Version > s.Max {
				s.Max = out.Reads[i].Version
			}
		}
		if in.Op == opView {
			return s, true
		}
		if !newVersion(&s, out.Version) {
			return s, false
		}
		s.Regs[in.Key] = s.Regs[in.Key].written(in.Value, out.Version, true)
		s.Regs[in.Key2] = s.Regs[in.Key2].written(in.Value2, out.Version, true)
		return s, true
	}
	return s, false
}

// applyUnknown returns the state after in took effect at an unknown
// version, if it could have taken effect from s.
func applyUnknown(s kvState, in kvInput) (kvState, bool) {
	r := s.Regs[in.Key]
	switch in.Op {
	case opPut:
		s.Regs[in.Key] = r.written(in.Value, s.Max, false)
		return s, true
	case opDelete:
		if !r.Exists {
			return s, false
		}
		s.Regs[in.Key] = absent()
		return s, true
	case opCAS, opCAD:
		var ok bool
		if r, ok = r.learn(in.Expected); !ok {
			return s, false
		}
		if in.Op == opCAD {
			if !r.Exists {
				return s, false
			}
			s.Regs[in.Key] = absent()
			return s, true
		}
		if in.Expected > s.Max {
			s.Max = in.Expected
		}
		s.Regs[in.Key] = r.written(in.Value, s.Max, false)
		return s, true
	case opTxn:
		s.Regs[in.Key] = s.Regs[in.Key].written(in.Value, s.Max, false)
		s.Regs[in.Key2] = s.Regs[in.Key2].written(in.Value2, s.Max, false)
		return s, true
	}
	return s, false
}

// kvModel returns the porcupine model of the store. With partition set, the
// history is split by key (it must hold only single-key operations) and each
// part is checked against a register of its own; otherwise the whole store
// is one state, so the version counter is checked across keys too.
func kvModel(keyNames []string, partition bool) porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Init: func() []interface{} { return []interface{}{initState()} },
		Step: func(state, input, output interface{}) []interface{} {
			next := stepKV(state.(kvState), input.(kvInput), output.(kvOutput))
			res := make([]interface{}, len(next))
			for i, n := range next {
				res[i] = n
			}
			return res
		},
		Hash: func(state interface{}) uint64 {
			s := state.(kvState)
			h := fnv.New64a()
			fmt.Fprintf(h, "%d", s.Max)
			for _, r := range s.Regs {
				fmt.Fprintf(h, "|%t%s%d%t%d%d", r.Exists, r.Value, r.Version, r.Known, r.Create, r.CMode)
			}
			return h.Sum64()
		},
		DescribeOperation: func(input, output interface{}) string {
			return describeOp(keyNames, input.(kvInput), output.(kvOutput))
		},
		DescribeState: func(state interface{}) string {
			return describeState(keyNames, state.(kvState))
		},
	}
	if partition {
		nm.Partition = partitionByKey
	}
	return nm.ToModel()
}

// partitionByKey splits a history of single-key operations by key.
func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[int][]porcupine.Operation{}
	for _, op := range history {
		k := op.Input.(kvInput).Key
		byKey[k] = append(byKey[k], op)
	}
	keys := make([]int, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, byKey[k])
	}
	return parts
}

func keyName(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("key%d", i)
}

func describeOp(names []string, in kvInput, out kvOutput) string {
	k := keyName(names, in.Key)
	var b strings.Builder
	switch in.Op {
	case opGet:
		fmt.Fprintf(&b, "Get(%s)", k)
	case opPut:
		fmt.Fprintf(&b, "Put(%s, %q)", k, in.Value)
	case opCAS:
		fmt.Fprintf(&b, "CAS(%s, %d, %q)", k, in.Expected, in.Value)
	case opDelete:
		fmt.Fprintf(&b, "Delete(%s)", k)
	case opCAD:
		fmt.Fprintf(&b, "CAD(%s, %d)", k, in.Expected)
	case opTxn:
		fmt.Fprintf(&b, "Txn(%s=%q, %s=%q)", k, in.Value, keyName(names, in.Key2), in.Value2)
	case opView:
		fmt.Fprintf(&b, "View(%s, %s)", k, keyName(names, in.Key2))
	}
	b.WriteString(" -> ")
	switch {
	case out.Unknown:
		b.WriteString("unknown")
	case in.Op == opGet:
		b.WriteString(out.Read.String())
	case in.Op == opTxn || in.Op == opView:
		fmt.Fprintf(&b, "[%s, %s]", out.Reads[0], out.Reads[1])
		if in.Op == opTxn {
			fmt.Fprintf(&b, " v%d", out.Version)
		}
	case out.Status == stNotFound:
		b.WriteString("not found")
	case out.Status == stConflict:
		fmt.Fprintf(&b, "conflict: at %d", out.Version)
		if out.Read.Found {
			fmt.Fprintf(&b, " %s", out.Read)
		}
	default:
		fmt.Fprintf(&b, "v%d", out.Version)
	}
	return b.String()
}

func describeState(names []string, s kvState) string {
	var parts []string
	for i, r := range s.Regs {
		if !r.Exists {
			continue
		}
		v := fmt.Sprintf("%d", r.Version)
		if !r.Known {
			v = fmt.Sprintf(">%d", r.Version)
		}
		parts = append(parts, fmt.Sprintf("%s=%q@%s", keyName(names, i), r.Value, v))
	}
	return fmt.Sprintf("{%s} max %d", strings.Join(parts, ", "), s.Max)
}
