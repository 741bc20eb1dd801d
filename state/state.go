// Package state holds the BITS job states and the rules that move a job between them, as plain
// data: which job method is allowed in which state and what it does (Methods), and which engine
// event moves which state where (Events). It is pure: no goroutines, no I/O, no clocks.
//
// The job package enforces these rules through Check and Next; the tables are also rendered into
// testdata/state-matrix.golden and README.md by Render, so the documentation is the code.
package state

import (
	"fmt"
	"math/bits"
	"strings"
)

// State is a BG_JOB_STATE value. The numeric values are those of BITS.
type State uint32

// The BG_JOB_STATE values (ne-bits-bg_job_state).
const (
	Queued         State = 0 // BG_JOB_STATE_QUEUED: waiting for its turn to run.
	Connecting     State = 1 // BG_JOB_STATE_CONNECTING: contacting the server.
	Transferring   State = 2 // BG_JOB_STATE_TRANSFERRING: moving data.
	Suspended      State = 3 // BG_JOB_STATE_SUSPENDED: new or suspended; not scheduled.
	Error          State = 4 // BG_JOB_STATE_ERROR: a fatal error; BITS will not retry on its own.
	TransientError State = 5 // BG_JOB_STATE_TRANSIENT_ERROR: a recoverable error; BITS retries.
	Transferred    State = 6 // BG_JOB_STATE_TRANSFERRED: every file transferred; awaiting Complete.
	Acknowledged   State = 7 // BG_JOB_STATE_ACKNOWLEDGED: completed; final.
	Cancelled      State = 8 // BG_JOB_STATE_CANCELLED: cancelled; final.
)

// Count is the number of job states.
const Count = 9

var names = [Count]string{
	"QUEUED", "CONNECTING", "TRANSFERRING", "SUSPENDED", "ERROR",
	"TRANSIENT_ERROR", "TRANSFERRED", "ACKNOWLEDGED", "CANCELLED",
}

// String returns the state's BITS name without the BG_JOB_STATE_ prefix, as bitsadmin prints it:
// "QUEUED", "TRANSIENT_ERROR", ...
func (s State) String() string {
	if s.Valid() {
		return names[s]
	}
	return fmt.Sprintf("BG_JOB_STATE(%d)", uint32(s))
}

// Valid reports whether s is one of the nine BITS states.
func (s State) Valid() bool { return s < Count }

// Parse returns the state with the given name, with or without the BG_JOB_STATE_ prefix,
// ignoring case.
func Parse(name string) (State, bool) {
	n := strings.TrimPrefix(strings.ToUpper(name), "BG_JOB_STATE_")
	for i, s := range names {
		if s == n {
			return State(i), true
		}
	}
	return 0, false
}

// Class is one of the four groups of states described on the "Life Cycle of a BITS Job" page.
type Class uint8

// The state classes (life-cycle-of-a-bits-job).
const (
	ClassStarting    Class = iota + 1 // SUSPENDED: every new job starts here.
	ClassAction                       // QUEUED, CONNECTING, TRANSFERRING, TRANSIENT_ERROR: BITS is working on the job.
	ClassTransferred                  // TRANSFERRED, ERROR: BITS is done; the application must act.
	ClassFinal                        // ACKNOWLEDGED, CANCELLED: the job has left the queue for good.
)

// String returns the class name as the Life Cycle page spells it.
func (c Class) String() string {
	switch c {
	case ClassStarting:
		return "Starting"
	case ClassAction:
		return "Action"
	case ClassTransferred:
		return "Transferred"
	case ClassFinal:
		return "Final"
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// Class returns the class s belongs to, or 0 for an invalid state.
func (s State) Class() Class {
	switch s {
	case Suspended:
		return ClassStarting
	case Queued, Connecting, Transferring, TransientError:
		return ClassAction
	case Transferred, Error:
		return ClassTransferred
	case Acknowledged, Cancelled:
		return ClassFinal
	}
	return 0
}

// Final reports whether s is ACKNOWLEDGED or CANCELLED: the job never leaves s, is no longer listed
// by EnumJobs, and every method that changes it fails with BG_E_INVALID_STATE.
func (s State) Final() bool { return s == Acknowledged || s == Cancelled }

// Set is a set of states.
type Set uint16

// Of returns the set holding the given states.
func Of(states ...State) Set {
	var s Set
	for _, st := range states {
		s |= 1 << st
	}
	return s
}

// Common sets of states.
const (
	// All is every state.
	All Set = 1<<Count - 1
	// FinalStates is ACKNOWLEDGED and CANCELLED.
	FinalStates Set = 1<<Acknowledged | 1<<Cancelled
	// Live is every state but the final ones.
	Live = All &^ FinalStates
	// ActionStates is the action class: QUEUED, CONNECTING, TRANSFERRING, TRANSIENT_ERROR.
	ActionStates Set = 1<<Queued | 1<<Connecting | 1<<Transferring | 1<<TransientError
	// Running is CONNECTING and TRANSFERRING: the states whose time counts against the maximum
	// download time.
	Running Set = 1<<Connecting | 1<<Transferring
)

// Has reports whether st is in s.
func (s Set) Has(st State) bool { return st < Count && s&(1<<st) != 0 }

// Len returns the number of states in s.
func (s Set) Len() int { return bits.OnesCount16(uint16(s & All)) }

// States returns the states in s in numeric order.
func (s Set) States() []State {
	out := make([]State, 0, s.Len())
	for st := State(0); st < Count; st++ {
		if s.Has(st) {
			out = append(out, st)
		}
	}
	return out
}

// String lists the states joined by "|", or names the set when it is All or Live.
func (s Set) String() string {
	switch s & All {
	case All:
		return "any"
	case Live:
		return "any live"
	case 0:
		return "none"
	}
	parts := make([]string, 0, s.Len())
	for _, st := range s.States() {
		parts = append(parts, st.String())
	}
	return strings.Join(parts, "|")
}
