package reliability_test

import (
	"math"
	"testing"

	"github.com/anishathalye/porcupine"
)

// hop is one operation of a hand-written history: its interval, input and
// output. An interval of [0, 0] means "after the previous operation".
type hop struct {
	call, ret int64
	in        kvInput
	out       kvOutput
}

func ok(v uint64) kvOutput { return kvOutput{Version: v} }
func found(val string, v, c uint64) kvOutput {
	return kvOutput{Read: read{Found: true, Value: val, Version: v, Create: c}}
}
func conflict(actual uint64, cur read) kvOutput {
	return kvOutput{Status: stConflict, Version: actual, Read: cur}
}

var (
	notFound = kvOutput{Status: stNotFound}
	unknown  = kvOutput{Unknown: true}
)

func get(k int) kvInput           { return kvInput{Op: opGet, Key: k} }
func put(k int, v string) kvInput { return kvInput{Op: opPut, Key: k, Value: v} }
func cas(k int, e uint64, v string) kvInput {
	return kvInput{Op: opCAS, Key: k, Expected: e, Value: v}
}
func del(k int) kvInput           { return kvInput{Op: opDelete, Key: k} }
func cad(k int, e uint64) kvInput { return kvInput{Op: opCAD, Key: k, Expected: e} }
func txn(a, b int, va, vb string) kvInput {
	return kvInput{Op: opTxn, Key: a, Key2: b, Value: va, Value2: vb}
}

// ops turns hand-written operations into a porcupine history; operations
// without an interval run one after the other.
func ops(hs ...hop) []porcupine.Operation {
	var res []porcupine.Operation
	t := int64(1000)
	for i, h := range hs {
		if h.call == 0 && h.ret == 0 {
			h.call, h.ret = t, t+1
			t += 2
		}
		if h.out.Unknown {
			h.ret = math.MaxInt64
		}
		res = append(res, porcupine.Operation{ClientId: i, Input: h.in, Call: h.call, Output: h.out, Return: h.ret})
	}
	return res
}

// TestModel checks the model itself on small histories whose verdict is
// known, for both the per-key and the whole-store model.
func TestModel(t *testing.T) {
	a := read{Found: true, Value: "a", Version: 1, Create: 1}
	tests := []struct {
		name  string
		ops   []porcupine.Operation
		legal bool
		whole bool // whole-store model only (transactions)
	}{
		{"empty get", ops(hop{in: get(0), out: notFound}), true, false},
		{"put then get", ops(hop{in: put(0, "a"), out: ok(1)}, hop{in: get(0), out: found("a", 1, 1)}), true, false},
		{"get sees the wrong version", ops(hop{in: put(0, "a"), out: ok(1)}, hop{in: get(0), out: found("a", 2, 1)}), false, false},
		{"get sees the wrong create version", ops(hop{in: put(0, "a"), out: ok(5)}, hop{in: put(0, "b"), out: ok(6)}, hop{in: get(0), out: found("b", 6, 6)}), false, false},
		{"update keeps the create version", ops(hop{in: put(0, "a"), out: ok(5)}, hop{in: put(0, "b"), out: ok(6)}, hop{in: get(0), out: found("b", 6, 5)}), true, false},
		{"stale read", ops(hop{in: put(0, "a"), out: ok(1)}, hop{in: put(0, "b"), out: ok(2)}, hop{in: get(0), out: found("a", 1, 1)}), false, false},
		{"version goes back", ops(hop{in: put(0, "a"), out: ok(5)}, hop{in: put(0, "b"), out: ok(3)}), false, false},
		{"version reused after delete", ops(hop{in: put(0, "a"), out: ok(5)}, hop{in: del(0), out: ok(6)}, hop{in: put(0, "b"), out: ok(6)}), false, false},
		{"cas succeeds", ops(hop{in: put(0, "a"), out: ok(1)}, hop{in: cas(0, 1, "b"), out: ok(2)}, hop{in: get(0), out: found("b", 2, 1)}), true, false},
		{"cas succeeds on a stale version", ops(hop{in: put(0, "a"), out: ok(1)}, hop{in: put(0, "b"), out: ok(2)}, hop{in: cas(0, 1, "c"), out: ok(3)}), false, false},
		{"create-only cas", ops(hop{in: cas(0, 0, "a"), out: ok(1)}, hop{in: cas(0, 0, "b"), out: conflict(1, a)}), true, false},
		{"conflict with the wrong actual", ops(hop{in: put(0, "a"), out: ok(1)}, hop{in: cas(0, 0, "b"), out: conflict(2, read{})}), false, false},
		{"conflict with the wrong current value", ops(hop{in: put(0, "x"), out: ok(1)}, hop{in: cas(0, 0, "b"), out: conflict(1, a)}), false, false},
		{"conflict that should have succeeded", ops(hop{in: put(0, "a"), out: ok(1)}, hop{in: cas(0, 1, "b"), out: conflict(1, a)}), false, false},
		{"two cas from one version both win", ops(
			hop{in: put(0, "a"), out: ok(1)},
			hop{call: 10_000, ret: 10_010, in: cas(0, 1, "b"), out: ok(2)},
			hop{call: 10_001, ret: 10_011, in: cas(0, 1, "c"), out: ok(3)}), false, false},
		{"concurrent cas, one wins", ops(
			hop{in: put(0, "a"), out: ok(1)},
			hop{call: 10_000, ret: 10_010, in: cas(0, 1, "b"), out: conflict(2, read{Found: true, Value: "c", Version: 2, Create: 1})},
			hop{call: 10_001, ret: 10_011, in: cas(0, 1, "c"), out: ok(2)}), true, false},
		{"delete absent", ops(hop{in: del(0), out: notFound}), true, false},
		{"delete then get", ops(hop{in: put(0, "a"), out: ok(1)}, hop{in: del(0), out: ok(2)}, hop{in: get(0), out: notFound}), true, false},
		{"get after delete sees the key", ops(hop{in: put(0, "a"), out: ok(1)}, hop{in: del(0), out: ok(2)}, hop{in: get(0), out: found("a", 1, 1)}), false, false},
		{"cad expecting 0 of absent", ops(hop{in: cad(0, 0), out: notFound}), true, false},
		{"cad expecting 0 of present", ops(hop{in: put(0, "a"), out: ok(1)}, hop{in: cad(0, 0), out: conflict(1, a)}), true, false},
		{"cad of absent expecting 3", ops(hop{in: cad(0, 3), out: conflict(0, read{})}), true, false},
		{"cad at the version", ops(hop{in: put(0, "a"), out: ok(1)}, hop{in: cad(0, 1), out: ok(2)}, hop{in: get(0), out: notFound}), true, false},
		{"unknown put that took effect", ops(hop{in: put(0, "a"), out: unknown}, hop{in: get(0), out: found("a", 7, 7)}, hop{in: cas(0, 7, "b"), out: ok(8)}), true, false},
		{"unknown put that did not", ops(hop{in: put(0, "a"), out: unknown}, hop{in: get(0), out: notFound}, hop{in: put(0, "b"), out: ok(3)}, hop{in: get(0), out: found("b", 3, 3)}), true, false},
		{"unknown put seen, then gone", ops(hop{in: put(0, "a"), out: unknown}, hop{in: get(0), out: found("a", 7, 7)}, hop{in: get(0), out: notFound}), false, false},
		{"unknown cas learnt through a conflict", ops(
			hop{in: put(0, "a"), out: ok(1)}, hop{in: cas(0, 1, "b"), out: unknown},
			hop{in: cas(0, 1, "c"), out: conflict(4, read{Found: true, Value: "b", Version: 4, Create: 1})}), true, false},
		{"unknown cas with a stale version cannot take effect", ops(
			hop{in: put(0, "a"), out: ok(1)}, hop{in: put(0, "b"), out: ok(2)}, hop{in: cas(0, 1, "c"), out: unknown},
			hop{in: get(0), out: found("c", 3, 1)}), false, false},
		{"txn then reads", ops(
			hop{in: put(0, "a"), out: ok(1)},
			hop{in: txn(0, 1, "x", "y"), out: kvOutput{Version: 2, Reads: [2]read{a, {}}}},
			hop{in: get(0), out: found("x", 2, 1)}, hop{in: get(1), out: found("y", 2, 2)}), true, true},
		{"txn read a stale key", ops(
			hop{in: put(0, "a"), out: ok(1)}, hop{in: put(0, "b"), out: ok(2)},
			hop{in: txn(0, 1, "x", "y"), out: kvOutput{Version: 3, Reads: [2]read{a, {}}}}), false, true},
		{"version counter goes back across keys", ops(hop{in: put(0, "a"), out: ok(5)}, hop{in: put(1, "b"), out: ok(4)}), false, true},
		{"view sees half a txn", ops(
			hop{in: txn(0, 1, "x", "y"), out: kvOutput{Version: 1, Reads: [2]read{{}, {}}}},
			hop{in: kvInput{Op: opView, Key: 0, Key2: 1}, out: kvOutput{Reads: [2]read{{Found: true, Value: "x", Version: 1, Create: 1}, {}}}}), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			models := []bool{false}
			if !tc.whole {
				models = append(models, true)
			}
			for _, partition := range models {
				res := porcupine.CheckOperationsTimeout(kvModel([]string{"k0", "k1"}, partition), tc.ops, 10e9)
				want := porcupine.Illegal
				if tc.legal {
					want = porcupine.Ok
				}
				if res != want {
					t.Errorf("partition %t: %s, want %s", partition, res, want)
				}
			}
		})
	}
}
