package state

import (
	"fmt"

	"github.com/bitsemu/bitsemu/hresult"
)

// Event is something that happens to a job without an application calling it: the scheduler,
// the transfer engine, a timer or the network moves it.
type Event uint8

// The engine events.
const (
	Pick               Event = iota + 1 // the scheduler gives a queued job its turn
	Connect                             // the connection to the server succeeded
	FileDone                            // a file finished and more remain
	LastFileDone                        // the last file finished
	TransientFailure                    // a recoverable transfer error
	FatalFailure                        // an unrecoverable transfer error
	RetryDelayElapsed                   // the minimum retry delay passed since a transient error
	NoProgressTimeout                   // the no-progress timeout ran out
	MaxDownloadTimeout                  // time spent connecting and transferring exceeded the maximum download time
	SliceEnd                            // the job's time slice ended, or a higher priority job pre-empted it
	NetworkLost                         // the machine lost its network connection
	NetworkRestored                     // the network came back
	InactivityExpired                   // the job had no activity for the job inactivity timeout
	eventEnd
)

var eventNames = [...]string{
	Pick: "scheduler pick", Connect: "connected", FileDone: "file done", LastFileDone: "last file done",
	TransientFailure: "transient error", FatalFailure: "fatal error",
	RetryDelayElapsed: "retry delay elapsed", NoProgressTimeout: "no-progress timeout",
	MaxDownloadTimeout: "maximum download time", SliceEnd: "time slice end",
	NetworkLost: "network lost", NetworkRestored: "network restored",
	InactivityExpired: "inactivity expiry",
}

// String returns a short description of the event.
func (e Event) String() string {
	if e > 0 && e < eventEnd {
		return eventNames[e]
	}
	return fmt.Sprintf("Event(%d)", uint8(e))
}

// Transition is one line of the event table: in the states From, when every condition in When
// holds, the event moves the job To.
type Transition struct {
	Event       Event
	From        Set
	When        Cond
	To          State
	CountsError bool         // the job's error count goes up by one
	Code        hresult.Code // the error recorded with the move, when it is always the same; else 0
	Notify      string       // the notification the move raises, if any
	Note        string
	Source      string
}

// events is the engine's transition table, tried in order: the first transition whose event
// matches, whose states include the job's and whose conditions hold decides. An event in a state
// no line covers is ignored (the job stays where it is). Events hands out copies.
var events = []Transition{
	{Event: Pick, From: Of(Queued), To: Connecting, Source: "ne-bits-bg_job_state"},
	{Event: Connect, From: Of(Connecting), To: Transferring,
		Note: "the error record is dropped on entering TRANSFERRING", Source: "ne-bits-bg_job_state; IBackgroundCopyJob::GetError"},
	{Event: FileDone, From: Of(Transferring), To: Transferring, Notify: "FileTransferred",
		Note: "files transfer one at a time, in the order added", Source: pgLifeCycle},
	{Event: LastFileDone, From: Of(Transferring), To: Transferred, Notify: "FileTransferred, JobTransferred",
		Note: "TransferCompletionTime is set", Source: pgLifeCycle + "; ns-bits-bg_job_times"},
	{Event: TransientFailure, From: Of(Connecting, Transferring), When: NoRetry, To: Error, CountsError: true, Notify: "JobError",
		Note: "no-progress timeout 0, retry delay longer than it, or it has run out", Source: pgJob + "SetNoProgressTimeout; " + pgJob + "SetMinimumRetryDelay"},
	{Event: TransientFailure, From: Of(Connecting, Transferring), To: TransientError, CountsError: true,
		Note: "no JobError for a transient error", Source: pgJob + "GetErrorCount; IBackgroundCopyCallback::JobError"},
	{Event: FatalFailure, From: Of(Connecting, Transferring), To: Error, CountsError: true, Notify: "JobError",
		Source: "ne-bits-bg_job_state; IBackgroundCopyCallback::JobError"},
	{Event: RetryDelayElapsed, From: Of(TransientError), To: Queued,
		Note: "not armed for BG_E_NETWORK_DISCONNECTED: such a job waits for the network", Source: pgJob + "SetMinimumRetryDelay"},
	{Event: NoProgressTimeout, From: Of(TransientError), To: Error, Notify: "JobError",
		Note: "measured from the first transient error; progress restarts it", Source: pgJob + "SetNoProgressTimeout"},
	{Event: MaxDownloadTimeout, From: Running, To: Error, CountsError: true, Code: hresult.BG_E_MAXDOWNLOAD_TIMEOUT, Notify: "JobError",
		Note: "only time in CONNECTING and TRANSFERRING counts; Resume restarts the count", Source: "IBackgroundCopyJob4::SetMaximumDownloadTime"},
	{Event: SliceEnd, From: Running, To: Queued, Source: pgLifeCycle},
	{Event: NetworkLost, From: Of(Queued, Connecting, Transferring), To: TransientError, Code: hresult.BG_E_NETWORK_DISCONNECTED,
		Note: "not counted as an error", Source: "users-and-network-connections; " + pgJob + "GetErrorCount"},
	{Event: NetworkRestored, From: Of(TransientError), To: Queued,
		Note: "whatever error the job was waiting on", Source: "users-and-network-connections"},
	{Event: InactivityExpired, From: Live, To: Cancelled,
		Note: "temporary files are deleted, as by Cancel", Source: "group-policies (JobInactivityTimeout)"},
}

// Events returns a copy of the engine's transition table, in the order Next tries it.
func Events() []Transition { return append([]Transition(nil), events...) }

// Next finds the transition that event e makes from state from with facts f. It reports false
// when the event does not apply in that state.
func Next(e Event, from State, f Facts) (Transition, bool) {
	if e == 0 || e >= eventEnd || from >= Count {
		return Transition{}, false
	}
	var conds Cond
	read := false
	for _, i := range eventLines[e][from] {
		t := &events[i]
		if t.When != 0 && !read {
			conds, read = f.Conds(), true
		}
		if conds&t.When == t.When {
			return *t, true
		}
	}
	return Transition{}, false
}

// EventNeedsFacts reports whether Next of event e in state from depends on the facts it is
// given. When it does not, any Facts (the zero value) give the same result, and a caller can skip
// gathering them.
func EventNeedsFacts(e Event, from State) bool {
	if e == 0 || e >= eventEnd || from >= Count {
		return false
	}
	for _, i := range eventLines[e][from] {
		if events[i].When != 0 {
			return true
		}
	}
	return false
}

// eventLines lists, for each event and state, the lines of events that apply, in table order:
// Next tries only those, and reads the facts only when one of them has conditions.
var eventLines = func() (idx [eventEnd][Count][]uint8) {
	for i, t := range events {
		for st := State(0); st < Count; st++ {
			if t.From.Has(st) {
				idx[t.Event][st] = append(idx[t.Event][st], uint8(i))
			}
		}
	}
	return idx
}()
