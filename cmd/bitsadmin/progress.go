package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/state"
)

// pollInterval is how often a waiting verb reads its job.
const pollInterval = 50 * time.Millisecond

// plainInterval is how often, at most, plain output prints a progress line while the state stays.
const plainInterval = time.Second

// active reports whether a job in st is still on its way: QUEUED, CONNECTING, TRANSFERRING or
// TRANSIENT_ERROR (BITS retries it on its own).
func active(st state.State) bool {
	switch st {
	case state.Queued, state.Connecting, state.Transferring, state.TransientError:
		return true
	}
	return false
}

// progressView shows a job's progress: one line redrawn in place on a terminal, plain lines
// elsewhere (one per change of state, and at most one a second while bytes arrive).
type progressView struct {
	w         io.Writer
	tty       bool
	shown     bool
	lastText  string
	last      state.State
	lastBytes uint64
	lastLine  time.Time
	drawn     bool // a terminal line is drawn and not ended
}

func newProgress(w io.Writer, tty bool) *progressView { return &progressView{w: w, tty: tty} }

// bar draws a 20-character progress bar.
func bar(p bits.Progress) string {
	const width = 20
	n := 0
	if p.BytesTotal != bits.SizeUnknown && p.BytesTotal > 0 {
		n = int(p.BytesTransferred * width / p.BytesTotal)
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// show displays the job's state and progress; note is added after it (an error name).
func (v *progressView) show(st state.State, p bits.Progress, note string) {
	text := fmt.Sprintf("%-15s FILES: %d / %d BYTES: %s / %s%s", st, p.FilesTransferred, p.FilesTotal,
		byteCount(p.BytesTransferred), byteCount(p.BytesTotal), percent(p))
	if note != "" {
		text += " " + note
	}
	if v.tty {
		if v.drawn && text == v.lastText {
			return
		}
		fmt.Fprintf(v.w, "\r\x1b[K%s %s", bar(p), text)
		v.drawn, v.lastText = true, text
	} else {
		changed := !v.shown || st != v.last
		moved := p.BytesTransferred != v.lastBytes && time.Since(v.lastLine) >= plainInterval
		if !changed && !moved {
			return
		}
		fmt.Fprintln(v.w, text)
		v.lastLine = time.Now()
	}
	v.shown, v.last, v.lastBytes = true, st, p.BytesTransferred
}

// end finishes the terminal line, so that what follows starts on a line of its own.
func (v *progressView) end() {
	if v.drawn {
		fmt.Fprintln(v.w)
		v.drawn = false
	}
}

// errorNote names the error of a job in TRANSIENT_ERROR or ERROR, for the progress line.
func errorNote(j bits.Job, st state.State) string {
	if st != state.TransientError && st != state.Error {
		return ""
	}
	e, err := readError(j)
	if err != nil || e == nil {
		return ""
	}
	return e.code.Name()
}

// watch reads the job every pollInterval, showing its progress on v (when not nil), until it
// leaves the action states or ctx ends. It returns the last state read and ctx's error if ctx
// ended first.
func watch(ctx context.Context, j bits.Job, v *progressView) (state.State, error) {
	return watchUntil(ctx, j, v, nil, func(st state.State) bool { return !active(st) })
}

// watchOwn is watch for a job this command created: the job's callback reads it at once when it
// becomes TRANSFERRED or ERROR, rather than at the next poll (which a short transfer would wait
// for about as long as it took). The callback replaces none: the job is new.
func watchOwn(ctx context.Context, j bits.Job, v *progressView) (state.State, error) {
	wake := make(chan struct{}, 1)
	if err := j.SetNotifyInterface(endCallback{wake}); err == nil {
		defer func() { _ = j.SetNotifyInterface(nil) }()
	}
	return watchUntil(ctx, j, v, wake, func(st state.State) bool { return !active(st) })
}

// endCallback signals wake when its job becomes TRANSFERRED or ERROR.
type endCallback struct{ wake chan<- struct{} }

func (c endCallback) JobTransferred(bits.Job) error       { c.signal(); return nil }
func (c endCallback) JobError(bits.Job, bits.Error) error { c.signal(); return nil }
func (c endCallback) JobModification(bits.Job) error      { return nil }

func (c endCallback) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// watchUntil is watch with another end: until done holds for the job's state. A signal on wake
// (when not nil) reads the job at once.
func watchUntil(ctx context.Context, j bits.Job, v *progressView, wake <-chan struct{}, done func(state.State) bool) (state.State, error) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		st, err := j.GetState()
		if err != nil {
			return st, err
		}
		if v != nil {
			p, _ := j.GetProgress()
			v.show(st, p, errorNote(j, st))
		}
		if done(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-t.C:
		case <-wake:
		}
	}
}
