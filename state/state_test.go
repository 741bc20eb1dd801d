package state_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

func TestValuesAndNames(t *testing.T) {
	// ne-bits-bg_job_state: the numeric values are part of the contract.
	want := map[state.State]struct {
		v    uint32
		name string
		cls  state.Class
	}{
		state.Queued:         {0, "QUEUED", state.ClassAction},
		state.Connecting:     {1, "CONNECTING", state.ClassAction},
		state.Transferring:   {2, "TRANSFERRING", state.ClassAction},
		state.Suspended:      {3, "SUSPENDED", state.ClassStarting},
		state.Error:          {4, "ERROR", state.ClassTransferred},
		state.TransientError: {5, "TRANSIENT_ERROR", state.ClassAction},
		state.Transferred:    {6, "TRANSFERRED", state.ClassTransferred},
		state.Acknowledged:   {7, "ACKNOWLEDGED", state.ClassFinal},
		state.Cancelled:      {8, "CANCELLED", state.ClassFinal},
	}
	require.Len(t, want, state.Count)
	for s, w := range want {
		assert.Equal(t, w.v, uint32(s))
		assert.Equal(t, w.name, s.String())
		assert.Equal(t, w.cls, s.Class(), s.String())
		assert.Equal(t, w.cls == state.ClassFinal, s.Final(), s.String())
		p, ok := state.Parse("bg_job_state_" + w.name)
		assert.True(t, ok)
		assert.Equal(t, s, p)
	}
	assert.False(t, state.State(9).Valid())
	assert.Equal(t, "BG_JOB_STATE(9)", state.State(9).String())
	_, ok := state.Parse("DONE")
	assert.False(t, ok)
}

func TestSets(t *testing.T) {
	assert.Equal(t, 9, state.All.Len())
	assert.Equal(t, 7, state.Live.Len())
	assert.False(t, state.Live.Has(state.Cancelled))
	assert.True(t, state.ActionStates.Has(state.TransientError))
	assert.False(t, state.ActionStates.Has(state.Suspended))
	assert.Equal(t, "QUEUED|TRANSFERRED", state.Of(state.Transferred, state.Queued).String())
	assert.Equal(t, "any live", state.Live.String())
	assert.Equal(t, []state.State{state.Acknowledged, state.Cancelled}, state.FinalStates.States())
}

// TestCheck states, case by case, what BITS documents for the methods whose rules are more than
// "allowed unless final"; each expectation is typed from the reference pages, not from the table.
func TestCheck(t *testing.T) {
	withFiles := state.Facts{Files: 2}
	allDone := state.Facts{Files: 2, FilesDone: 2}
	upload := state.Facts{Files: 1, Upload: true}
	tests := []struct {
		name   string
		m      state.Method
		from   state.State
		facts  state.Facts
		code   hresult.Code
		toward state.State
	}{
		{"new job resume without files", state.Resume, state.Suspended, state.Facts{}, hresult.BG_E_EMPTY, state.Suspended},
		{"resume", state.Resume, state.Suspended, withFiles, hresult.S_OK, state.Queued},
		{"resume retries an error", state.Resume, state.Error, withFiles, hresult.S_OK, state.Queued},
		{"resume retries a transient error early", state.Resume, state.TransientError, withFiles, hresult.S_OK, state.Queued},
		{"resume leaves a transfer alone", state.Resume, state.Transferring, withFiles, hresult.S_OK, state.Transferring},
		{"resume a transferred job with nothing new", state.Resume, state.Transferred, allDone, hresult.S_OK, state.Transferred},
		{"resume a transferred job with a new file", state.Resume, state.Transferred, state.Facts{Files: 3, FilesDone: 2}, hresult.S_OK, state.Queued},
		{"resume cancelled", state.Resume, state.Cancelled, withFiles, hresult.BG_E_INVALID_STATE, state.Cancelled},
		{"suspend twice", state.Suspend, state.Suspended, withFiles, hresult.S_OK, state.Suspended},
		{"suspend transferring", state.Suspend, state.Transferring, withFiles, hresult.S_OK, state.Suspended},
		{"suspend acknowledged", state.Suspend, state.Acknowledged, withFiles, hresult.BG_E_INVALID_STATE, state.Acknowledged},
		{"cancel", state.Cancel, state.Error, withFiles, hresult.S_OK, state.Cancelled},
		{"cancel twice", state.Cancel, state.Cancelled, withFiles, hresult.BG_E_INVALID_STATE, state.Cancelled},
		{"complete transferred", state.Complete, state.Transferred, allDone, hresult.S_OK, state.Acknowledged},
		{"complete early keeps what finished", state.Complete, state.Transferring, state.Facts{Files: 5, FilesDone: 2}, hresult.BG_S_PARTIAL_COMPLETE, state.Acknowledged},
		{"complete suspended, nothing transferred", state.Complete, state.Suspended, withFiles, hresult.BG_S_PARTIAL_COMPLETE, state.Acknowledged},
		{"complete with no files", state.Complete, state.Suspended, state.Facts{}, hresult.S_OK, state.Acknowledged},
		{"complete cancelled stays cancelled", state.Complete, state.Cancelled, allDone, hresult.BG_E_INVALID_STATE, state.Cancelled},
		{"complete an upload early", state.Complete, state.Transferring, upload, hresult.BG_E_INVALID_STATE, state.Transferring},
		{"complete a transferred upload", state.Complete, state.Transferred, state.Facts{Files: 1, FilesDone: 1, Upload: true}, hresult.S_OK, state.Acknowledged},
		{"set notify interface when final", state.SetNotifyInterface, state.Acknowledged, withFiles, hresult.BG_E_INVALID_STATE, state.Acknowledged},
		{"getters work when final", state.GetState, state.Cancelled, withFiles, hresult.S_OK, state.Cancelled},
		{"ACL flags once transferred", state.SetFileACLFlags, state.Transferred, allDone, hresult.BG_E_INVALID_STATE, state.Transferred},
		{"ACL flags before", state.SetFileACLFlags, state.Queued, withFiles, hresult.S_OK, state.Queued},
		{"get error without one", state.GetError, state.Error, withFiles, hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE, state.Error},
		{"get error with one", state.GetError, state.TransientError, state.Facts{Files: 1, HasErrorInfo: true}, hresult.S_OK, state.TransientError},
		{"reply data of a download", state.GetReplyData, state.Transferred, allDone, hresult.E_NOTIMPL, state.Transferred},
		{"reply data before transferred", state.GetReplyData, state.Queued, state.Facts{Files: 1, Upload: true, UploadReply: true}, hresult.BG_E_INVALID_STATE, state.Queued},
		{"ranges on upload", state.AddFileWithRanges, state.Suspended, upload, hresult.E_NOTIMPL, state.Suspended},
		{"validation before the file is done", state.FileSetValidationState, state.Transferring, withFiles, hresult.E_PENDING, state.Transferring},
		{"validation after", state.FileSetValidationState, state.Transferred, state.Facts{Files: 1, FilesDone: 1, FileTransferred: true}, hresult.S_OK, state.Transferred},
		{"http method after resume", state.SetHttpMethod, state.Suspended, state.Facts{Files: 1, Resumed: true}, hresult.BG_E_READ_ONLY_PROPERTY_AFTER_RESUME, state.Suspended},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := state.Check(tc.m, tc.from, tc.facts)
			assert.Equal(t, tc.code, out.Code)
			assert.Equal(t, tc.toward, out.To)
		})
	}
	assert.Equal(t, hresult.E_NOTIMPL, state.Check(state.Method(200), state.Queued, state.Facts{}).Code)
}

func TestEveryMethodHasARule(t *testing.T) {
	for _, r := range state.Methods() {
		_, ok := state.RuleFor(r.Method)
		require.True(t, ok, r.Method.String())
		assert.NotEmpty(t, r.Source, r.Method.String())
		// Every rule decides every valid state: no state falls through to E_UNEXPECTED.
		for s := state.State(0); s < state.Count; s++ {
			for _, f := range []state.Facts{{}, {Files: 1}, {Files: 1, FilesDone: 1, FileTransferred: true, HasErrorInfo: true}, {Files: 1, Upload: true, UploadReply: true, Resumed: true, ReplyStarted: true}} {
				assert.NotEqual(t, hresult.E_UNEXPECTED, r.Decide(s, f).Code, "%s in %s", r.Method, s)
			}
		}
	}
	_, ok := state.RuleFor(0)
	assert.False(t, ok)
}

// The tables cannot be changed from outside: what Methods, RuleFor and Events return are copies.
func TestRulesAreCopies(t *testing.T) {
	before := state.Check(state.Resume, state.Suspended, state.Facts{Files: 1})
	require.Equal(t, hresult.S_OK, before.Code)

	r, ok := state.RuleFor(state.Resume)
	require.True(t, ok)
	for i := range r.Cases {
		r.Cases[i].Code = hresult.E_FAIL
	}
	all := state.Methods()
	for i := range all {
		for k := range all[i].Cases {
			all[i].Cases[k].Code = hresult.E_FAIL
		}
	}
	ev := state.Events()
	for i := range ev {
		ev[i].To = state.Cancelled
	}

	assert.Equal(t, before, state.Check(state.Resume, state.Suspended, state.Facts{Files: 1}))
	tr, ok := state.Next(state.Pick, state.Queued, state.Facts{Files: 1})
	require.True(t, ok)
	assert.Equal(t, state.Connecting, tr.To)
	again, _ := state.RuleFor(state.Resume)
	assert.NotEqual(t, hresult.E_FAIL, again.Cases[0].Code)
}

func TestNext(t *testing.T) {
	tests := []struct {
		name   string
		ev     state.Event
		from   state.State
		facts  state.Facts
		ok     bool
		to     state.State
		counts bool
		code   hresult.Code
	}{
		{"pick", state.Pick, state.Queued, state.Facts{}, true, state.Connecting, false, 0},
		{"pick a suspended job", state.Pick, state.Suspended, state.Facts{}, false, 0, false, 0},
		{"connect", state.Connect, state.Connecting, state.Facts{}, true, state.Transferring, false, 0},
		{"last file", state.LastFileDone, state.Transferring, state.Facts{}, true, state.Transferred, false, 0},
		{"transient", state.TransientFailure, state.Transferring, state.Facts{}, true, state.TransientError, true, 0},
		{"transient while connecting", state.TransientFailure, state.Connecting, state.Facts{}, true, state.TransientError, true, 0},
		{"transient with no retry left", state.TransientFailure, state.Transferring, state.Facts{RetriesExhausted: true}, true, state.Error, true, 0},
		{"fatal", state.FatalFailure, state.Transferring, state.Facts{}, true, state.Error, true, 0},
		{"retry", state.RetryDelayElapsed, state.TransientError, state.Facts{}, true, state.Queued, false, 0},
		{"no progress", state.NoProgressTimeout, state.TransientError, state.Facts{}, true, state.Error, false, 0},
		{"max download time", state.MaxDownloadTimeout, state.Transferring, state.Facts{}, true, state.Error, true, hresult.BG_E_MAXDOWNLOAD_TIMEOUT},
		{"max download time while queued", state.MaxDownloadTimeout, state.Queued, state.Facts{}, false, 0, false, 0},
		{"slice end", state.SliceEnd, state.Transferring, state.Facts{}, true, state.Queued, false, 0},
		{"network lost queued", state.NetworkLost, state.Queued, state.Facts{}, true, state.TransientError, false, hresult.BG_E_NETWORK_DISCONNECTED},
		{"network lost suspended", state.NetworkLost, state.Suspended, state.Facts{}, false, 0, false, 0},
		{"network back", state.NetworkRestored, state.TransientError, state.Facts{}, true, state.Queued, false, 0},
		{"expiry of a transferred job", state.InactivityExpired, state.Transferred, state.Facts{}, true, state.Cancelled, false, 0},
		{"expiry of a final job", state.InactivityExpired, state.Acknowledged, state.Facts{}, false, 0, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, ok := state.Next(tc.ev, tc.from, tc.facts)
			require.Equal(t, tc.ok, ok)
			if !ok {
				return
			}
			assert.Equal(t, tc.to, tr.To)
			assert.Equal(t, tc.counts, tr.CountsError)
			assert.Equal(t, tc.code, tr.Code)
		})
	}
}

func TestNoEventLeavesAFinalState(t *testing.T) {
	for _, tr := range state.Events() {
		assert.False(t, tr.From.Has(state.Acknowledged) || tr.From.Has(state.Cancelled), "%s", tr.Event)
		assert.NotEmpty(t, tr.Source)
	}
}
