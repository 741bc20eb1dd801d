package manager

import (
	"os"
	"sync"
	"time"

	"github.com/bitsemu/bitsemu/job"
)

// A transfer of a job kept on disk (Open) records its progress at checkpoints: after
// CheckpointBytes bytes or CheckpointInterval, whichever comes first (even when no byte arrives
// meanwhile: a peer that falls silent), the temporary file's data
// is synced to disk and then the job's record, which claims only the bytes synced
// (job.Engine.FileSynced), is written to the store. Both happen on a goroutine of the transfer's
// own, the checkpointer, so that the transfer never waits for the disk: it reports each chunk it
// wrote and goes on. The checkpointer also starts the write-back of the file's new data every
// writeBackBytes (writeBack), so that the data flows to the disk while the transfer runs, each
// sync finds little left to write, and dirty pages do not pile up in memory (a fetch that writes
// directly, transfer.Config.DirectIOMin, leaves it nothing to start). Kicks that arrive while it
// works fold into one.

// testHookCheckpoint, when set (export_test.go), is called after each checkpoint the
// checkpointer wrote, with the bytes it claimed.
var testHookCheckpoint func(n uint64)

// writeBackBytes is how much new data of a temporary file starts its write-back to disk.
const writeBackBytes = 2 << 20

// checkpointer syncs one fetch's temporary file and records its progress, off the transfer's
// goroutine.
type checkpointer struct {
	s    *sched
	j    *job.Engine
	file int
	f    *os.File

	mu   sync.Mutex
	n    uint64 // bytes the fetch has written, as last reported
	gen  uint64 // counts the times n went down (the file restarted)
	kick chan struct{}
	stop chan struct{}
	done chan struct{}

	// Kept by the checkpointer's goroutine.
	flushed uint64    // write-back started up to here
	saved   uint64    // progress as last recorded
	savedAt time.Time // when
}

// newCheckpointer starts the checkpointer of file i of j, written through f, whose progress
// was last recorded as saved, at savedAt.
func newCheckpointer(s *sched, j *job.Engine, i int, f *os.File, saved uint64, savedAt time.Time) *checkpointer {
	c := &checkpointer{s: s, j: j, file: i, f: f, n: saved, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
		flushed: saved, saved: saved, savedAt: savedAt}
	go c.run()
	return c
}

// wrote reports that the first n bytes of the output are written. It never blocks.
func (c *checkpointer) wrote(n uint64) {
	c.mu.Lock()
	if n < c.n {
		c.gen++
	}
	c.n = n
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// close stops the checkpointer and waits until a checkpoint under way has ended.
func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
}

func (c *checkpointer) run() {
	defer close(c.done)
	// due fires when progress not yet recorded gets CheckpointInterval old, so that a transfer
	// that stops getting bytes (a silent peer) has them recorded all the same.
	due := time.NewTimer(time.Hour)
	due.Stop()
	defer due.Stop()
	armed := false
	for {
		select {
		case <-c.kick:
		case <-due.C:
			armed = false
		case <-c.stop:
			return
		}
		c.mu.Lock()
		n, gen := c.n, c.gen
		c.mu.Unlock()
		if n < c.flushed {
			c.flushed = n
		}
		if n-c.flushed >= writeBackBytes {
			writeBack(c.f, c.flushed, n-c.flushed)
			c.flushed = n
		}
		now := c.s.clk.Now()
		if n >= c.saved && n-c.saved < CheckpointBytes && now.Sub(c.savedAt) < CheckpointInterval {
			if n != c.saved && !armed {
				due.Reset(CheckpointInterval - now.Sub(c.savedAt))
				armed = true
			}
			continue
		}
		// What was written before the sync began is on disk once it returns; a restart of the
		// file meanwhile (gen) makes n mean other bytes.
		if err := dataSync(c.f); err != nil {
			if !armed {
				due.Reset(CheckpointInterval) // try again
				armed = true
			}
			continue
		}
		c.mu.Lock()
		same := gen == c.gen
		c.mu.Unlock()
		if !same {
			continue
		}
		c.j.FileSynced(c.file, n)
		c.s.m.persist(c.j)
		c.saved, c.savedAt = n, now
		if testHookCheckpoint != nil {
			testHookCheckpoint(n)
		}
	}
}
