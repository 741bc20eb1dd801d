package transfer

import (
	"errors"
	"io"
	"os"
	"syscall"
	"unsafe"
)

// Direct writes. A large download written through the page cache costs a copy into pages the
// kernel must find for it (on a virtual machine, pages the host may have to fault in) and then
// their write-back; written with direct I/O it goes from the chunk buffer to the disk, and does
// not push other files out of the cache. So a fetch that extends its file by at least
// Config.DirectIOMin bytes writes them with O_DIRECT where the system and the file system allow
// it: in chunks of directChunk bytes (or ChunkSize rounded up to directAlign), one chunk read
// from the source while the one before is written, on a goroutine of the fetch's own. Each chunk
// is reported to the observer once it is written, never before: Progressed still claims only
// bytes the file holds. A chunk ends early when the source pauses (see copyDirect), so that what
// arrived before a pause is written and reported while it lasts. The bytes of a chunk before its
// first aligned offset and after its last one are written through the page cache, as is
// everything when the file system refuses O_DIRECT.

const (
	// directAlign is the alignment O_DIRECT asks of file offsets, lengths and memory: the
	// largest logical block size in common use.
	directAlign = 4096
	// directChunk is the size of a direct write with the default chunk size: writes of 4 MiB
	// keep a virtual disk streaming where smaller ones wait on each write's latency (1 GiB
	// written from loopback: 0.8–1.0 s in 4 MiB writes, 1.2–1.3 s in 1 MiB ones).
	directChunk = 4 << 20
	// defaultDirectIOMin is Config.DirectIOMin's default: a smaller file is written through
	// the page cache, where the writes return without waiting for the disk.
	defaultDirectIOMin = 16 << 20
)

// alignedBuf returns n bytes whose address is a multiple of directAlign.
func alignedBuf(n int) []byte {
	b := make([]byte, n+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%directAlign)) % directAlign
	return b[skip : skip+n : skip+n]
}

// useDirect reports whether a copy of n bytes (toEOF: of an unknown number) writes directly: a
// copy that extends the file. One that overwrites bytes the file holds (a file restarted in
// place) goes through the page cache, which may hold those pages already; a direct write would
// have to write them back and drop them first.
func (r *run) useDirect(n uint64, toEOF bool) bool {
	if !directIO || toEOF || r.c.directMin < 0 || n < uint64(r.c.directMin) {
		return false
	}
	fi, err := r.dst.Stat()
	return err == nil && fi.Size() <= int64(r.prog.Transferred)
}

// chunkWrite is one chunk for the writer: buf[s:e] goes to the file at off. buf[0] stands for
// the aligned offset off-s, so that the aligned part of the chunk is aligned in memory too.
type chunkWrite struct {
	bp   *[]byte
	s, e int
	off  int64
	err  error
}

// directWriter writes a fetch's chunks in order, on a goroutine of its own.
type directWriter struct {
	f      *os.File
	direct bool // O_DIRECT is on for f
	off    bool // the file system refused it: every write goes through the page cache
	todo   chan *chunkWrite
	done   chan *chunkWrite
}

// setDirectFn is setDirect; a test makes it refuse (export_test.go).
var setDirectFn = setDirect

func newDirectWriter(f *os.File) *directWriter {
	w := &directWriter{f: f, todo: make(chan *chunkWrite, 2), done: make(chan *chunkWrite, 2)}
	go w.run()
	return w
}

func (w *directWriter) run() {
	for c := range w.todo {
		c.err = w.write(c)
		w.done <- c
	}
	if w.direct {
		// The file goes back as it was for whoever writes or reads it next.
		_ = setDirectFn(w.f, false)
	}
	close(w.done)
}

// write writes c: its whole blocks directly, its ends through the page cache.
func (w *directWriter) write(c *chunkWrite) error {
	buf := *c.bp
	base := c.off - int64(c.s) // the file offset of buf[0]
	first := (c.s + directAlign - 1) / directAlign * directAlign
	last := c.e / directAlign * directAlign
	if first >= last {
		return w.cached(buf[c.s:c.e], c.off)
	}
	if c.s < first {
		if err := w.cached(buf[c.s:first], c.off); err != nil {
			return err
		}
	}
	if err := w.uncached(buf[first:last], base+int64(first)); err != nil {
		return err
	}
	if last < c.e {
		return w.cached(buf[last:c.e], base+int64(last))
	}
	return nil
}

// cached writes p at off through the page cache.
func (w *directWriter) cached(p []byte, off int64) error {
	if w.direct {
		if err := setDirectFn(w.f, false); err != nil {
			return err
		}
		w.direct = false
	}
	_, err := w.f.WriteAt(p, off)
	return err
}

// uncached writes p, aligned in memory and in the file, at off with O_DIRECT; through the page
// cache when the file system refuses it.
func (w *directWriter) uncached(p []byte, off int64) error {
	if !w.direct && !w.off {
		if setDirectFn(w.f, true) == nil {
			w.direct = true
		} else {
			w.off = true
		}
	}
	if !w.direct {
		return w.cached(p, off)
	}
	n, err := w.f.WriteAt(p, off)
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.EINVAL) {
		// The file system takes O_DIRECT but not these writes (an alignment it wants larger):
		// the rest of the fetch goes through the page cache.
		w.off = true
		return w.cached(p[n:], off+int64(n))
	}
	return err
}

// close waits for the writes queued, then ends the writer's goroutine.
func (w *directWriter) close() {
	close(w.todo)
	for range w.done {
	}
}

// copyDirect is copyOut for n bytes written directly: the same limiter, cap and errors, with
// chunks that end at aligned offsets of the file (the last one excepted), each read while the
// one before it is written and reported once it is written. Two buffers of the Client's direct
// pool are used. An error of a write or of the observer comes first, as in copyOut, and once ctx
// ends no chunk is reported.
func (r *run) copyDirect(src io.Reader, n uint64, srcErr func(error) error) error {
	w := newDirectWriter(r.dst)
	free := make([]*chunkWrite, 0, 2)
	for range 2 {
		free = append(free, &chunkWrite{bp: r.c.dbufs.Get().(*[]byte)})
	}
	inflight := 0
	// werr is the first failure of a write or of the observer: once it is set, the chunks
	// still written are not reported.
	var werr error
	// finish takes the result of the oldest chunk in flight and reports it.
	finish := func() {
		c := <-w.done
		inflight--
		free = append(free, c)
		switch {
		case werr != nil:
		case c.err != nil:
			werr = localError(c.err, r.proto)
		default:
			r.prog.Transferred += uint64(c.e - c.s)
			if werr = r.report(); werr == nil {
				// A fetch stopped meanwhile (the observer may have stopped it) reports no more.
				werr = r.ctx.Err()
			}
		}
	}
	next := r.prog.Transferred // the file offset of the next byte read
	chunk := uint64(r.c.chunk)
	// paused tells fill to end a chunk of got bytes early: when they reach past a multiple of
	// the (page-cache) chunk size and the connection has nothing more waiting, even once the
	// write in flight has ended and been reported (bytes that arrive meanwhile make the chunk
	// go on). The bytes that arrived before a source paused are then written and reported
	// while it pauses, as copyOut's chunks would be, and a fast source still fills whole
	// chunks.
	paused := func(got int) bool {
		if (next+uint64(got))/chunk == next/chunk || !r.drained() {
			return false
		}
		for inflight > 0 {
			finish()
		}
		return werr != nil || r.drained()
	}
	err := func() error {
		for done := uint64(0); done < n; {
			if len(free) == 0 {
				finish()
			}
			if werr != nil {
				return nil
			}
			want := uint64(r.c.dchunk) - next%directAlign
			if n-done < want {
				want = n - done
			}
			var room uint64
			capped := r.opt.LimitSize
			if capped {
				room = r.opt.MaxSize - min(r.opt.MaxSize, next)
				if room < want {
					want = room + 1 // one byte past the cap shows that the source goes on
				}
			}
			if err := r.wait(int(want)); err != nil {
				return err
			}
			c := free[len(free)-1]
			free = free[:len(free)-1] // paused may finish writes meanwhile, which free theirs
			c.s = int(next % directAlign)
			got, rerr := r.fill(src, (*c.bp)[c.s:c.s+int(want)], paused)
			var over error
			if capped && uint64(got) > room {
				got = int(room)
				over = r.overCap()
			}
			if got == 0 {
				free = append(free, c)
			} else {
				c.e, c.off, c.err = c.s+got, int64(next), nil
				inflight++
				w.todo <- c
				done += uint64(got)
				next += uint64(got)
				if uint64(got) < want && rerr == nil {
					// The source paused (fill stopped early): what arrived is written and
					// reported before the next read waits on it.
					for inflight > 0 {
						finish()
					}
				}
			}
			if over != nil {
				return over
			}
			if stop, err := r.afterChunk(rerr, done, n, false, srcErr); stop {
				return err
			}
		}
		return nil
	}()
	for inflight > 0 {
		finish()
	}
	w.close()
	for _, c := range free {
		r.c.dbufs.Put(c.bp)
	}
	if werr != nil {
		return werr
	}
	return err
}
