package state_test

import (
	"fmt"

	"github.com/bitsemu/bitsemu/state"
)

// Check answers "what does this call do in this state?" from the rules tables.
func ExampleCheck() {
	out := state.Check(state.Resume, state.Suspended, state.Facts{Files: 0})
	fmt.Println(out.Code.Name(), out.To)
	out = state.Check(state.Resume, state.Suspended, state.Facts{Files: 1})
	fmt.Println(out.Code.Name(), out.To)
	out = state.Check(state.SetNotifyInterface, state.Cancelled, state.Facts{Files: 1})
	fmt.Println(out.Code.Name(), out.To)
	// Output:
	// BG_E_EMPTY SUSPENDED
	// S_OK QUEUED
	// BG_E_INVALID_STATE CANCELLED
}

// Next answers "where does this engine event move a job?".
func ExampleNext() {
	t, ok := state.Next(state.TransientFailure, state.Transferring, state.Facts{})
	fmt.Println(ok, t.To, t.CountsError)
	t, _ = state.Next(state.TransientFailure, state.Transferring, state.Facts{RetriesExhausted: true})
	fmt.Println(t.To, t.Notify)
	_, ok = state.Next(state.Pick, state.Suspended, state.Facts{})
	fmt.Println(ok)
	// Output:
	// true TRANSIENT_ERROR true
	// ERROR JobError
	// false
}
