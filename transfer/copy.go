package transfer

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/sockq"
)

// run is what every transport keeps for one fetch.
type run struct {
	c     *Client
	ctx   context.Context // the caller's
	spec  Spec
	opt   Options
	dst   *os.File
	obs   Observer
	proto string

	prog      Progress  // what the next Progressed reports; Transferred is the output written
	connected bool      // obs.Connected was called
	wd        *watchdog // nil when no stall timer runs (files)
	waiter    Waiter    // obs, when it wants to hear of waits on the peer

	connMu sync.Mutex
	conn   net.Conn // the connection of the last request, once the transport chose it
}

// drained reports whether the last request's connection holds no received byte that waits to
// be read (sockq.Unread): the source has nothing more for now. A fetch of a local file, which
// never waits, is never drained; a connection that cannot tell (an in-memory one) always is.
func (r *run) drained() bool {
	if r.wd == nil {
		return false
	}
	r.connMu.Lock()
	c := r.conn
	r.connMu.Unlock()
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	if t, ok := c.(*trackedConn); ok {
		return !sockq.Unread(t.Conn)
	}
	return true
}

func (c *Client) newRun(ctx context.Context, spec Spec, opt Options, dst *os.File, obs Observer, proto string) run {
	w, _ := obs.(Waiter)
	return run{
		c: c, ctx: ctx, spec: spec, opt: opt, dst: dst, obs: obs, proto: proto, waiter: w,
		prog: Progress{Total: spec.Total, Transferred: spec.Offset, Validator: spec.Validator},
	}
}

// waiting tells the observer, when it is a Waiter, that the fetch starts (true) or ends (false)
// waiting on its peer.
func (r *run) waiting(w bool) {
	if r.waiter != nil {
		r.waiter.Waiting(w)
	}
}

// sleeping tells the observer, when it is a Waiter, that the fetch starts (true) or ends (false)
// waiting on the clock.
func (r *run) sleeping(s bool) {
	if r.waiter != nil {
		r.waiter.Sleeping(s)
	}
}

// connect calls obs.Connected the first time the source answers.
func (r *run) connect() {
	if !r.connected {
		r.connected = true
		r.obs.Connected()
	}
}

// report calls obs.Progressed with the current progress.
func (r *run) report() error { return r.obs.Progressed(r.prog) }

// start plans an attempt on a source of size bytes whose version is validator: the output's
// segments, where the fetch resumes (byte 0 when restart is set, the source changed, or the
// recorded offset cannot be trusted), with the temporary file emptied for a restart, and the
// first progress report made. It returns the segments still to fetch.
func (r *run) start(size uint64, validator string, restart bool, proto string) ([]segment, error) {
	segs, total, err := plan(r.spec.Ranges, size, proto)
	if err != nil {
		return nil, err
	}
	if err := r.checkSize(total); err != nil {
		return nil, err
	}
	var offset uint64
	if !restart {
		offset, restart = startOffset(r.spec, total, validator)
	}
	if restart {
		if err := r.restart(); err != nil {
			return nil, err
		}
	}
	r.prog.Total, r.prog.Transferred, r.prog.Validator = total, offset, validator
	if err := r.report(); err != nil {
		return nil, err
	}
	return remaining(segs, offset), nil
}

// checkSize fails when an output of total bytes (bits.SizeUnknown: not known yet) is over the
// job's maximum download size. The source's size is known before anything is written, so
// nothing is (BITS_JOB_PROPERTY_ID: MAX_DOWNLOAD_SIZE).
func (r *run) checkSize(total uint64) error {
	if !r.opt.LimitSize || total == bits.SizeUnknown || total <= r.opt.MaxSize {
		return nil
	}
	return tooLarge(r.proto, fmt.Errorf("the output is %d bytes, over the %d the job's maximum download size leaves", total, r.opt.MaxSize))
}

// tooLarge is the error for an output over the job's maximum download size.
func tooLarge(proto string, err error) *Error {
	return fatal(hresult.BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, bits.ContextRemoteFile, proto, err)
}

// room is how many more bytes the output may take under the maximum download size, and false
// when there is no cap.
func (r *run) room() (uint64, bool) {
	if !r.opt.LimitSize {
		return 0, false
	}
	return r.opt.MaxSize - min(r.opt.MaxSize, r.prog.Transferred), true
}

// restart empties the temporary file so that the output starts again from byte 0.
func (r *run) restart() error {
	if err := r.dst.Truncate(0); err != nil {
		return localError(err, r.proto)
	}
	r.prog.Transferred = 0
	return nil
}

// copyOut copies n bytes (or, with toEOF, everything up to io.EOF) from src to the output from
// offset r.prog.Transferred on, one chunk at a time: wait for the limiter's tokens for the chunk,
// read until the chunk is full or the source fails or ends, write exactly the bytes received
// (WriteAt at their offset), then call obs.Progressed. A source that fails after sending part of
// a chunk loses nothing: that part is written and reported before the error is returned.
//
// The returned error is ctx.Err(), the observer's error unchanged, a *Error for the temporary
// file (LOCAL_FILE), or what srcErr makes of the source's error (io.ErrUnexpectedEOF for a
// bounded source that ended early). One buffer from the Client's pool is used: memory is
// O(ChunkSize) whatever the size of the file, and a chunk costs no allocation. A copy of
// Config.DirectIOMin bytes or more is written directly instead (copyDirect).
func (r *run) copyOut(src io.Reader, n uint64, toEOF bool, srcErr func(error) error) error {
	if r.useDirect(n, toEOF) {
		return r.copyDirect(src, n, srcErr)
	}
	bp := r.c.bufs.Get().(*[]byte)
	defer r.c.bufs.Put(bp)
	buf := *bp
	var done uint64
	for toEOF || done < n {
		want := uint64(len(buf))
		if !toEOF && n-done < want {
			want = n - done
		}
		room, capped := r.room()
		if capped && room < want {
			want = room + 1 // one byte past the cap shows that the source goes on
		}
		if err := r.wait(int(want)); err != nil {
			return err
		}
		got, rerr := r.fill(src, buf[:want], nil)
		var over error
		if capped && uint64(got) > room {
			// The cap is reached and the source has more: write what fits, then stop.
			got = int(room)
			over = r.overCap()
		}
		if got > 0 {
			if _, err := r.dst.WriteAt(buf[:got], int64(r.prog.Transferred)); err != nil {
				return localError(err, r.proto)
			}
			done += uint64(got)
			r.prog.Transferred += uint64(got)
			if err := r.report(); err != nil {
				return err
			}
		}
		if over != nil {
			return over
		}
		if stop, err := r.afterChunk(rerr, done, n, toEOF, srcErr); stop {
			return err
		}
	}
	return nil
}

// afterChunk tells a copy of n bytes (toEOF: up to the source's end), done of which are
// written, whether to stop after a chunk whose read ended with rerr, and with what: nil at the
// source's end, io.ErrUnexpectedEOF (through srcErr) for a bounded source that ended early, the
// source's error through srcErr, or ctx's error.
func (r *run) afterChunk(rerr error, done, n uint64, toEOF bool, srcErr func(error) error) (bool, error) {
	switch {
	case rerr == io.EOF && (toEOF || done >= n):
		return true, nil
	case rerr == io.EOF:
		return true, ctxErr(r.ctx, srcErr(io.ErrUnexpectedEOF))
	case rerr != nil:
		return true, ctxErr(r.ctx, srcErr(rerr))
	}
	if err := r.ctx.Err(); err != nil {
		return true, err
	}
	return false, nil
}

// overCap is the error of a source that goes on past the job's maximum download size.
func (r *run) overCap() error {
	return tooLarge(r.proto, fmt.Errorf("the source goes on past the %d bytes the job's maximum download size allows", r.opt.MaxSize))
}

// fill reads into p until it is full or src fails; io.EOF is returned as it came. Every read
// that brings bytes feeds the stall timer. stop, when not nil, is asked after each read that
// leaves p short whether to return what it holds now (copyDirect).
func (r *run) fill(src io.Reader, p []byte, stop func(got int) bool) (int, error) {
	got := 0
	peer := r.wd != nil // a network source; a file's reads do not wait on a peer
	for got < len(p) {
		if peer {
			r.waiting(true)
		}
		m, err := src.Read(p[got:])
		if peer {
			r.waiting(false)
		}
		if m > 0 {
			got += m
			if r.wd != nil {
				r.wd.touch()
			}
		}
		if err != nil {
			return got, err
		}
		if stop != nil && got < len(p) && stop(got) {
			return got, nil
		}
	}
	return got, nil
}

// wait takes n tokens from the limiter, in pieces no larger than its burst, with the stall timer
// paused. The limiter is read on the Client's clock and the wait is a timer of that clock, so on
// a virtual clock bandwidth is paced in virtual time. A limiter whose burst is 0 (and whose limit
// is not infinite) lets nothing through: the fetch waits for ctx to end.
func (r *run) wait(n int) error {
	lim := r.opt.Limiter
	if lim == nil || (r.opt.Limited != nil && !r.opt.Limited()) {
		return nil
	}
	if r.wd != nil {
		r.wd.pause()
		defer r.wd.resume()
	}
	burst := lim.Burst()
	if lim.Limit() == rate.Inf || burst >= n {
		burst = n
	}
	clk := r.c.clk
	for n > 0 {
		if burst <= 0 {
			<-r.ctx.Done()
			return r.ctx.Err()
		}
		step := min(n, burst)
		now := clk.Now()
		res := lim.ReserveN(now, step)
		if !res.OK() {
			<-r.ctx.Done()
			return r.ctx.Err()
		}
		if d := res.DelayFrom(now); d > 0 {
			woken, err := r.sleep(d)
			if err != nil {
				res.CancelAt(clk.Now())
				return err
			}
			if woken {
				// Options.LimitWake: the limiter may no longer apply. The tokens not waited
				// for go back.
				res.CancelAt(clk.Now())
				if r.opt.Limited != nil && !r.opt.Limited() {
					return nil
				}
				continue
			}
		}
		n -= step
	}
	return nil
}

// sleep waits d on the Client's clock, until Options.LimitWake wakes it (woken is then true), or
// until the fetch's context ends. The fetch counts as sleeping meanwhile (Waiter): nothing but
// the clock or a wake ends the wait. The sleep ends in the timer's function, which a virtual
// clock runs on the goroutine that steps it, or in the caller of LimitWake.Wake, so that a
// manager stepping the clock or waking the fetch never counts it as still sleeping.
func (r *run) sleep(d time.Duration) (woken bool, err error) {
	done := make(chan struct{})
	var once sync.Once
	end := func(early bool) {
		once.Do(func() {
			woken = early
			r.sleeping(false)
			close(done)
		})
	}
	r.sleeping(true)
	t := r.c.clk.AfterFunc(d, func() { end(false) })
	if lw := r.opt.LimitWake; lw != nil {
		lw.set(func() { end(true) })
		defer lw.set(nil)
	}
	select {
	case <-done:
		if woken {
			t.Stop()
		}
		return woken, nil
	case <-r.ctx.Done():
		t.Stop()
		end(false)
		return false, r.ctx.Err()
	}
}

// watchdog is the stall timer of one fetch. It cancels the fetch's requests (cause errStalled)
// once no bytes have arrived for the stall timeout, measured on the Client's clock. Arrivals are
// recorded by touch (each read that brings bytes, each answer's headers); the time spent writing
// to the temporary file and in obs.Progressed counts as idle time, while the time spent waiting
// for the rate limiter does not (pause/resume). One clock timer is pending at a time: when it
// fires early because bytes arrived meanwhile, it is re-armed for the rest of the timeout, so
// the cost per read is one clock reading.
type watchdog struct {
	clk     clock.Clock
	timeout time.Duration
	cancel  context.CancelCauseFunc
	base    time.Time
	last    atomic.Int64 // nanoseconds since base of the last arrival
	paused  atomic.Bool

	mu    sync.Mutex
	timer clock.Timer
	done  bool
}

func startWatchdog(clk clock.Clock, timeout time.Duration, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{clk: clk, timeout: timeout, cancel: cancel, base: clk.Now()}
	w.arm(timeout)
	return w
}

func (w *watchdog) touch() { w.last.Store(int64(w.clk.Now().Sub(w.base))) }

func (w *watchdog) pause() { w.paused.Store(true) }

func (w *watchdog) resume() {
	w.touch()
	w.paused.Store(false)
}

func (w *watchdog) arm(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.timer = w.clk.AfterFunc(d, w.fire)
	}
}

func (w *watchdog) fire() {
	if w.paused.Load() {
		w.arm(w.timeout)
		return
	}
	idle := w.clk.Now().Sub(w.base) - time.Duration(w.last.Load())
	if idle >= w.timeout {
		w.cancel(errStalled)
		return
	}
	w.arm(w.timeout - idle)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if w.timer != nil {
		w.timer.Stop()
	}
}
