package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

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

// rateWindow is how far back the transfer rate looks.
const rateWindow = 5 * time.Second

// progressView shows a job's progress: one line redrawn in place on a terminal (cut to the
// terminal's width, so it never wraps), plain lines elsewhere (one per change of state, and at
// most one a second while bytes arrive). Both show the rate and, when the size is known, the
// time left.
type progressView struct {
	w         io.Writer
	tty       bool
	width     func() int // the terminal's width now; nil: defaultWidth
	shown     bool
	lastText  string
	last      state.State
	lastBytes uint64
	lastLine  time.Time
	drawn     bool // a terminal line is drawn and not ended
	samples   []sample
}

// sample is the bytes transferred at a moment.
type sample struct {
	at    time.Time
	bytes uint64
}

// defaultWidth is the width assumed when the terminal does not say.
const defaultWidth = 80

func newProgress(w io.Writer, tty bool) *progressView { return &progressView{w: w, tty: tty} }

// rate returns the bytes per second over the last rateWindow, after recording p at now; 0 when
// not known yet. A count that goes down (a file restarted) starts the window again.
func (v *progressView) rate(now time.Time, bytes uint64) float64 {
	if n := len(v.samples); n > 0 && bytes < v.samples[n-1].bytes {
		v.samples = v.samples[:0]
	}
	v.samples = append(v.samples, sample{now, bytes})
	i := 0
	for i < len(v.samples)-2 && now.Sub(v.samples[i+1].at) >= rateWindow {
		i++
	}
	v.samples = v.samples[i:]
	first := v.samples[0]
	dt := now.Sub(first.at).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(bytes-first.bytes) / dt
}

// progressText is the progress of a job as one line of text: its state, files and bytes, the
// percentage, and while it transfers the rate and the time left.
func progressText(st state.State, p bits.Progress, rate float64, note string) string {
	text := fmt.Sprintf("%-15s FILES: %d / %d BYTES: %s / %s%s", st, p.FilesTransferred, p.FilesTotal,
		byteCount(p.BytesTransferred), byteCount(p.BytesTotal), percent(p))
	if st == state.Transferring && rate > 0 {
		text += " " + rateText(rate)
		if p.BytesTotal != bits.SizeUnknown && p.BytesTotal >= p.BytesTransferred {
			left := time.Duration(float64(p.BytesTotal-p.BytesTransferred) / rate * float64(time.Second))
			text += " ETA " + etaText(left)
		}
	}
	if note != "" {
		text += " " + note
	}
	return text
}

// rateText prints bytes per second with a binary unit: "512 B/s", "1.5 MiB/s".
func rateText(r float64) string {
	units := []string{"B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"}
	i := 0
	for r >= 1024 && i < len(units)-1 {
		r /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", r, units[i])
	}
	return fmt.Sprintf("%.1f %s", r, units[i])
}

// etaText prints a time left as m:ss, or h:mm:ss from an hour; over 99 hours is "--:--".
func etaText(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second) // rounded up: never 0:00 while bytes remain
	switch {
	case s >= 100*3600:
		return "--:--"
	case s >= 3600:
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// terminalLine is the progress line for a terminal width columns wide: a bar (when there is
// room) and text, cut to width-1 columns so that the cursor never reaches the last column and
// the terminal never wraps or scrolls.
func terminalLine(width int, p bits.Progress, text string) string {
	room := max(width-1, 1)
	line := text
	if barWidth := min(30, room-utf8.RuneCountInString(text)-1); barWidth >= 10 {
		line = bar(p, barWidth) + " " + text
	}
	return truncate(line, room)
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// bar draws a progress bar of width characters between brackets.
func bar(p bits.Progress, width int) string {
	inner := width - 2
	n := 0
	if p.BytesTotal != bits.SizeUnknown && p.BytesTotal > 0 {
		n = int(min(p.BytesTransferred, p.BytesTotal) * uint64(inner) / p.BytesTotal)
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", inner-n) + "]"
}

// show displays the job's state and progress at now; note is added after it (an error name).
func (v *progressView) show(now time.Time, st state.State, p bits.Progress, note string) {
	text := progressText(st, p, v.rate(now, p.BytesTransferred), note)
	if v.tty {
		width := defaultWidth
		if v.width != nil {
			width = v.width()
		}
		line := terminalLine(width, p, text)
		if v.drawn && line == v.lastText {
			return
		}
		// Back to the start of the line, the new text, and the rest of the old one erased.
		fmt.Fprintf(v.w, "\r%s\x1b[K", line)
		v.drawn, v.lastText = true, line
	} else {
		changed := !v.shown || st != v.last
		moved := p.BytesTransferred != v.lastBytes && now.Sub(v.lastLine) >= plainInterval
		if !changed && !moved {
			return
		}
		fmt.Fprintln(v.w, text)
		v.lastLine = now
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
			v.show(time.Now(), st, p, errorNote(j, st))
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
