package manager

import (
	"os"
	"sync"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
)

// A file of a kept job whose last bytes arrived counts as done at once, while its data may still
// be in the page cache: the transfer goes on with the next file, or the job becomes TRANSFERRED,
// without waiting for the disk. The file's final sync runs afterwards on the manager's
// finalSyncer, and only then does the job's record say the file is done: until then the record
// keeps describing the file as transferring, with the bytes synced before, so that a crash of
// the machine meanwhile brings the job back to be transferred again instead of leaving a record
// that claims a file the disk may not hold. A crash of the process alone loses nothing: the
// page cache keeps the data.
//
// Complete does not wait for the sync: it renames the file and removes the job's record at once
// (what a method reports done is on disk), and the sync goes on with the file under its new
// name. Only a crash of the machine in the moments after Complete can then lose the file's
// data, as for any file written without a sync (README, "Semantics decisions").
//
// This needs a temporary file that can be renamed or removed while the syncer holds it open
// (Complete, Cancel), as on Linux; elsewhere the file is synced before it counts as done
// (finalSyncLater).

// finalSyncer syncs finished fetches' temporary files, one at a time, in the order they finished,
// on a goroutine started when the first one arrives and ended when none is left.
type finalSyncer struct {
	m *Manager

	mu      sync.Mutex
	queue   []finalSync
	running bool
	idle    sync.Cond // signalled when running becomes false
}

// finalSync is one finished fetch: file i of j (replyFile for its reply), written through f, and
// its checkpointer, if it had one.
type finalSync struct {
	j  *job.Engine
	i  int
	f  *os.File
	cp *checkpointer
}

// testHookFinalSync, when set (export_test.go), is called before each final sync begins, with
// the job and file: a test blocks it to observe the job while its file is not yet on disk.
var testHookFinalSync func(j *job.Engine, i int)

// add hands the syncer f, the temporary file of file i of j, whose every byte is written, and
// the fetch's checkpointer cp (nil for none); the syncer stops cp and closes f.
func (fs *finalSyncer) add(j *job.Engine, i int, f *os.File, cp *checkpointer) {
	fs.mu.Lock()
	fs.queue = append(fs.queue, finalSync{j: j, i: i, f: f, cp: cp})
	start := !fs.running
	fs.running = true
	fs.mu.Unlock()
	if start {
		go fs.run()
	}
}

func (fs *finalSyncer) run() {
	for {
		fs.mu.Lock()
		if len(fs.queue) == 0 {
			fs.running = false
			fs.queue = nil
			fs.idle.Broadcast()
			fs.mu.Unlock()
			return
		}
		s := fs.queue[0]
		fs.queue[0] = finalSync{}
		fs.queue = fs.queue[1:]
		fs.mu.Unlock()
		fs.sync(s)
	}
}

// sync makes one finished file durable and records it so. When the disk refuses, the record
// keeps the progress synced before (a restart transfers the rest again) and StoreErr reports it.
func (fs *finalSyncer) sync(s finalSync) {
	if s.cp != nil {
		s.cp.close() // a checkpoint under way ends first: it uses f
	}
	if testHookFinalSync != nil {
		testHookFinalSync(s.j, s.i)
	}
	err := dataSync(s.f)
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fs.m.persistErr(&hresult.Error{Op: "sync", Job: job.GUIDString(s.j.ID()), Code: job.DiskCode(err), Err: err})
		return
	}
	s.j.FileSynced(s.i, ^uint64(0))
	fs.m.persist(s.j)
}

// wait blocks until every file handed to the syncer is synced and recorded.
func (fs *finalSyncer) wait() {
	fs.mu.Lock()
	for fs.running {
		fs.idle.Wait()
	}
	fs.mu.Unlock()
}
