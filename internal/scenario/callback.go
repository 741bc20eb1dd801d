package scenario

import (
	"path"
	"strings"
	"sync"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// Recorder is a callback (bits.Callback2) that records the notifications it receives, in order:
// "JobTransferred", "JobError:<HRESULT>", "FileTransferred:<last segment of the remote name>".
// JobModification calls are only counted, since BITS may deliver them out of order with the
// others and drop some under load (IBackgroundCopyCallback::JobModification).
type Recorder struct {
	// OnTransferred, when set, runs inside JobTransferred; the text it returns is recorded as
	// an event of its own and its error is JobTransferred's result.
	OnTransferred func(j bits.Job) (string, error)

	mu     sync.Mutex
	events []string
	mods   int
}

var _ bits.Callback2 = (*Recorder)(nil)

func (r *Recorder) add(ev string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// JobTransferred records the call and runs OnTransferred.
func (r *Recorder) JobTransferred(j bits.Job) error {
	r.add("JobTransferred")
	if r.OnTransferred == nil {
		return nil
	}
	ev, err := r.OnTransferred(j)
	r.add(ev)
	return err
}

// JobError records the call with the error's HRESULT.
func (r *Recorder) JobError(j bits.Job, e bits.Error) error {
	code := hresult.E_POINTER
	if e != nil {
		var err error
		if _, code, err = e.GetError(); err != nil {
			code = hresult.Of(err)
		}
	}
	r.add("JobError:" + code.Name())
	return nil
}

// JobModification counts the call.
func (r *Recorder) JobModification(bits.Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mods++
	return nil
}

// FileTransferred records the call with the last segment of the file's remote name.
func (r *Recorder) FileTransferred(_ bits.Job, f bits.File) error {
	name := "?"
	if f != nil {
		if n, err := f.GetRemoteName(); err == nil {
			name = path.Base(n)
		}
	}
	r.add("FileTransferred:" + name)
	return nil
}

// Events returns the recorded events joined by commas, or "(none)".
func (r *Recorder) Events() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return "(none)"
	}
	return strings.Join(r.events, ",")
}

// Has reports whether an event starting with prefix was recorded.
func (r *Recorder) Has(prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if strings.HasPrefix(ev, prefix) {
			return true
		}
	}
	return false
}

// Modifications returns how many JobModification calls arrived.
func (r *Recorder) Modifications() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mods
}
