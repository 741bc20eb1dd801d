package state_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bitsemu/bitsemu/state"
)

// everyFacts returns facts covering every combination of the conditions rules test.
func everyFacts() []state.Facts {
	var out []state.Facts
	for bitsSet := range 1 << 9 {
		b := func(i int) bool { return bitsSet&(1<<i) != 0 }
		files := 0
		if b(0) {
			files = 2
		}
		done := 0
		if b(1) {
			done = files
		}
		out = append(out, state.Facts{Files: files, FilesDone: done, Upload: b(2), UploadReply: b(3),
			ReplyStarted: b(4), Resumed: b(5), HasErrorInfo: b(6), FileTransferred: b(7), RetriesExhausted: b(8)})
	}
	return out
}

// Where NeedsFacts says a rule does not read the facts, every facts give the outcome of none.
func TestNeedsFactsOnlyWhereTheOutcomeDependsOnThem(t *testing.T) {
	facts := everyFacts()
	skipped, read := 0, 0
	for _, r := range state.Methods() {
		for st := state.State(0); st < state.Count; st++ {
			if state.NeedsFacts(r.Method, st) {
				read++
				continue
			}
			skipped++
			want := r.Decide(st, state.Facts{})
			for _, f := range facts {
				if got := r.Decide(st, f); got != want {
					t.Fatalf("%v in %v: %+v with %+v, %+v without facts; NeedsFacts says false", r.Method, st, got, f, want)
				}
			}
		}
	}
	assert.Positive(t, read)
	assert.Greater(t, skipped, read, "most calls decide on the state alone")
	assert.True(t, state.NeedsFacts(state.Resume, state.Suspended), "Resume needs files")
	assert.False(t, state.NeedsFacts(state.SetDescription, state.Queued))
	assert.False(t, state.NeedsFacts(0, state.Queued), "no such method")
}

// Check gives what the method's rule decides, for every method, state and facts: where the rule
// does not read the facts, Check takes the outcome from a table made from the rule.
func TestCheckIsTheRulesDecision(t *testing.T) {
	facts := everyFacts()
	for _, r := range state.Methods() {
		for st := state.State(0); st < state.Count; st++ {
			for _, f := range facts {
				if got, want := state.Check(r.Method, st, f), r.Decide(st, f); got != want {
					t.Fatalf("%v in %v with %+v: Check %+v, the rule %+v", r.Method, st, f, got, want)
				}
			}
		}
	}
}

// Next gives the first line of the event table whose event, states and conditions match, for
// every event, state and combination of facts, though it tries only the lines of the event and
// state, and reads the facts only when one of them has conditions.
func TestNextIsTheFirstMatchingLine(t *testing.T) {
	table := state.Events()
	facts := everyFacts()
	matched := 0
	for e := state.Event(0); e <= state.InactivityExpired+1; e++ {
		for st := state.State(0); st <= state.Count; st++ {
			for _, f := range facts {
				var want state.Transition
				found := false
				for _, line := range table {
					if line.Event == e && line.From.Has(st) && f.Conds()&line.When == line.When {
						want, found = line, true
						break
					}
				}
				got, ok := state.Next(e, st, f)
				if ok != found || got != want {
					t.Fatalf("%v in %v with %+v: Next gives %+v, %v; the table %+v, %v", e, st, f, got, ok, want, found)
				}
				if ok {
					matched++
				}
			}
		}
	}
	assert.Positive(t, matched)
}

// Where EventNeedsFacts says Next does not read the facts, every facts give the result of none.
func TestEventNeedsFactsOnlyWhereTheResultDependsOnThem(t *testing.T) {
	facts := everyFacts()
	skipped, read := 0, 0
	for e := state.Event(0); e <= state.InactivityExpired+1; e++ {
		for st := state.State(0); st <= state.Count; st++ {
			if state.EventNeedsFacts(e, st) {
				read++
				continue
			}
			skipped++
			want, wantOK := state.Next(e, st, state.Facts{})
			for _, f := range facts {
				if got, ok := state.Next(e, st, f); got != want || ok != wantOK {
					t.Fatalf("%v in %v: %+v, %v with %+v; %+v, %v without facts; EventNeedsFacts says false", e, st, got, ok, f, want, wantOK)
				}
			}
		}
	}
	assert.Positive(t, read)
	assert.Greater(t, skipped, read)
	assert.True(t, state.EventNeedsFacts(state.TransientFailure, state.Transferring), "whether retries ran out")
	assert.False(t, state.EventNeedsFacts(state.Pick, state.Queued))
	assert.False(t, state.EventNeedsFacts(state.LastFileDone, state.Transferring))
}
