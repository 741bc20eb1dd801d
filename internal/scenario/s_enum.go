package scenario

import (
	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// marked counts the jobs of an enumeration whose display name is the scenario's marker, so that
// jobs of other programs do not change the result.
func (e *Env) marked(en bits.JobEnum) (int, error) {
	js, err := bits.All(en)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range js {
		if name, err := j.GetDisplayName(); err == nil && name == e.Marker() {
			n++
		}
	}
	return n, nil
}

// enumMarked enumerates the caller's jobs and records how many carry the marker.
func (e *Env) enumMarked(key string, want int) {
	en, err := e.M.EnumJobs(0)
	if !e.HR(key+" EnumJobs", err, hresult.S_OK) {
		return
	}
	n, err := e.marked(en)
	if e.HR(key+" Next", err, hresult.S_OK) {
		e.Eq(key+" scenario's jobs listed", n, want)
	}
}

func enumScenarios() []Scenario {
	return []Scenario{
		{
			Name: "enumjobs/lists-own-jobs",
			Docs: []string{"IBackgroundCopyManager::EnumJobs", "Enumerating Jobs in the Transfer Queue"},
			Run: func(e *Env) {
				for range 3 {
					e.CreateJob(e.Marker(), bits.Download)
				}
				e.enumMarked("", 3)
			},
		},
		{
			Name: "enumjobs/next-skip-reset-clone",
			Docs: []string{"IEnumBackgroundCopyJobs::Next", "IEnumBackgroundCopyJobs::Skip", "IEnumBackgroundCopyJobs::Reset", "IEnumBackgroundCopyJobs::Clone", "IEnumBackgroundCopyJobs::GetCount"},
			Run: func(e *Env) {
				for range 3 {
					e.CreateJob(e.Marker(), bits.Download)
				}
				en, err := e.M.EnumJobs(0)
				e.Must("EnumJobs", err)
				// Other programs' jobs may be listed too: walk whatever the count is, at least 3.
				n, err := en.GetCount()
				e.Must("GetCount", err)
				e.True("GetCount >= 3", n >= 3)
				enumWalkRelative(e, en, n)
			},
		},
		{
			Name: "enumjobs/snapshot",
			Docs: []string{"Enumerating Jobs in the Transfer Queue (the enumerator is a snapshot of the queue when it was made)"},
			Run: func(e *Env) {
				e.CreateJob(e.Marker(), bits.Download)
				en, err := e.M.EnumJobs(0)
				e.Must("EnumJobs", err)
				e.CreateJob(e.Marker(), bits.Download)
				n, err := e.marked(en)
				if e.HR("Next", err, hresult.S_OK) {
					e.Eq("scenario's jobs listed", n, 1)
				}
			},
		},
		{
			Name: "enumjobs/final-jobs-not-listed",
			Docs: []string{"IBackgroundCopyManager::EnumJobs", "Life Cycle of a BITS Job (ACKNOWLEDGED and CANCELLED jobs are not enumerated)"},
			Run: func(e *Env) {
				a := e.CreateJob(e.Marker(), bits.Download)
				b := e.CreateJob(e.Marker(), bits.Download)
				e.CreateJob(e.Marker(), bits.Download)
				code, err := a.Cancel()
				e.Code("Cancel", code, err, hresult.S_OK)
				code, err = b.Complete()
				e.Code("Complete", code, err, hresult.S_OK)
				e.enumMarked("after Cancel and Complete", 1)
			},
		},
	}
}

// enumWalkRelative is enumWalk for an enumerator of n items where n may vary between runs.
func enumWalkRelative[T any](e *Env, en bits.Enum[T], n uint32) {
	items, code, err := en.Next(n)
	if e.Code("Next(count)", code, err, hresult.S_OK) {
		e.True("Next(count) gives count items", uint32(len(items)) == n)
	}
	items, code, err = en.Next(1)
	if e.Code("Next(1) at the end", code, err, hresult.S_FALSE) {
		e.Eq("Next(1) at the end items", len(items), 0)
	}
	e.HR("Reset", en.Reset(), hresult.S_OK)
	code, err = en.Skip(n)
	e.Code("Skip(count)", code, err, hresult.S_OK)
	code, err = en.Skip(1)
	e.Code("Skip(1) at the end", code, err, hresult.S_FALSE)
	e.HR("Reset again", en.Reset(), hresult.S_OK)
	code, err = en.Skip(1)
	e.Code("Skip(1)", code, err, hresult.S_OK)
	c, err := en.Clone()
	if e.HR("Clone", err, hresult.S_OK) {
		items, code, err = c.Next(n)
		if e.Code("clone Next(count)", code, err, hresult.S_FALSE) {
			e.True("the clone starts where the original is (count-1 items)", uint32(len(items)) == n-1)
		}
	}
	items, code, err = en.Next(n + 1)
	if e.Code("Next(count+1)", code, err, hresult.S_FALSE) {
		e.True("Next(count+1) gives the count-1 items left", uint32(len(items)) == n-1)
	}
}
