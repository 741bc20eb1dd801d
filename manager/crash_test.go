package manager_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/engine"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/store"
	"github.com/bitsemu/bitsemu/transfer"
)

// The crash test runs a child process (this test binary, started again with BITSEMU_CRASH_DIR
// set) that changes jobs and downloads files as fast as it can, and kills it with SIGKILL at a
// random moment, many times over one store. The child prints "try ..." before each call and
// "ok ..." once it returned; after each kill the parent opens the store and checks that every
// call that returned is there, and that every temporary file holds exactly the source's bytes
// up to the progress its job records.
//
// The test counts its faults and fails when they did not happen: every kill must land in a
// child that was still working (it had printed what the parent waited for, and died of the
// signal, not of its own accord); some kills must hit a download while it was writing (its
// temporary file held bytes past its record, which reopening cut off); downloads found half done
// after a kill must go on after the restart from the byte where they stopped (a ranged GET from
// that offset reaches the server); jobs resumed before a kill must still be resumed after it and
// go on (more bytes, or completed), and finish byte-exact in the end without being resumed
// again; and the flaky server must have cut connections.

var crashAdmin = manager.Identity{SID: "S-1-5-21-999", Admin: true}

// crashFiles is what the crash test's server serves.
func crashFiles() map[string][]byte {
	files := map[string][]byte{}
	for i := range 4 {
		files[fmt.Sprintf("c%d.bin", i)] = content(300+i, 150_000+50_000*i)
	}
	return files
}

// crashChild is the child's whole life; it never returns normally.
func crashChild() {
	dir, out, url := os.Getenv("BITSEMU_CRASH_DIR"), os.Getenv("BITSEMU_CRASH_OUT"), os.Getenv("BITSEMU_CRASH_URL")
	seed, _ := strconv.ParseUint(os.Getenv("BITSEMU_CRASH_SEED"), 10, 64)
	// The last rounds keep their jobs (no Complete, no Cancel), so that jobs resumed before the
	// last kill are still there to finish after it.
	keep := os.Getenv("BITSEMU_CRASH_KEEP") != ""
	r := rand.New(rand.NewPCG(seed, 1))
	var m *manager.Manager
	var err error
	for range 200 {
		// Small reads, each written as it arrives, and a bandwidth limit: downloads last long
		// enough, and write often enough, for kills to land in the middle of them.
		// Some children write their downloads with direct I/O (the same chunks, each written
		// from its buffer to the disk while the next is read).
		cfg := transfer.Config{ChunkSize: 16 << 10, DirectIOMin: -1}
		if os.Getenv("BITSEMU_CRASH_DIRECT") != "" {
			cfg.DirectIOMin = 1
		}
		if m, err = manager.Open(dir, manager.WithLimits(job.Limits{}), manager.WithBandwidth(4<<20),
			manager.WithTransfer(cfg)); !errors.Is(err, store.ErrInUse) {
			break
		}
	}
	if err != nil {
		fmt.Println("fail open", err)
		os.Exit(3)
	}
	c, _ := m.Connect(crashAdmin)
	say := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	for step := 0; ; step++ {
		e, _ := c.EnumJobs(0)
		jobs, _, _ := e.Next(1000)
		var j bits.Job
		if len(jobs) > 0 {
			j = jobs[r.IntN(len(jobs))]
		}
		switch op := r.IntN(10); {
		case j == nil || (op == 0 && len(jobs) < 8):
			say("try create")
			nj, err := c.CreateJob("crash", bits.Download)
			if err == nil {
				_ = nj.SetMinimumRetryDelay(5)
				say("ok create %s", engine.Of(nj).ID())
			}
		case op <= 2:
			p, _ := j.GetProgress()
			if p.FilesTotal >= 3 {
				continue
			}
			name := fmt.Sprintf("c%d.bin", r.IntN(4))
			local := filepath.Join(out, fmt.Sprintf("%s-%d-%s", engine.Of(j).ID(), p.FilesTotal, name))
			say("try addfile %s %d %s", engine.Of(j).ID(), p.FilesTotal+1, name)
			if j.AddFile(url+"/"+name, local) == nil {
				say("ok addfile %s %d %s", engine.Of(j).ID(), p.FilesTotal+1, name)
			}
		case op <= 4:
			v := fmt.Sprintf("v%d-%d", seed, step)
			say("try desc %s %s", engine.Of(j).ID(), v)
			if j.SetDescription(v) == nil {
				say("ok desc %s %s", engine.Of(j).ID(), v)
			}
		case op <= 6:
			say("try resume %s", engine.Of(j).ID())
			if j.Resume() == nil {
				say("ok resume %s", engine.Of(j).ID())
			}
		case op == 7 && !keep:
			if st, _ := j.GetState(); st == state.Transferred {
				say("try complete %s", engine.Of(j).ID())
				if code, err := j.Complete(); err == nil && code == hresult.S_OK {
					say("ok complete %s", engine.Of(j).ID())
				} else if err == nil {
					say("ok partial %s", engine.Of(j).ID()) // a file added since was not transferred
				}
			}
		case op == 8 && len(jobs) > 5 && !keep:
			say("try cancel %s", engine.Of(j).ID())
			if _, err := j.Cancel(); err == nil {
				say("ok cancel %s", engine.Of(j).ID())
			}
		default:
			time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond) // let transfers run
		}
	}
}

// crashJob is what the parent knows of one job.
type crashJob struct {
	desc, pendingDesc string
	files             []string // the served names of its acknowledged files
	pendingFile       string
	gone, pendingGone bool
	completed         bool   // the job was completed: its local files must be whole
	verified          bool   // and they were checked
	resumed           bool   // a Resume returned: the job is never SUSPENDED again
	seenResumed       bool   // a check after a kill found it resumed, and not fully transferred
	seenBytes         uint64 // the bytes it had then
	continued         bool   // after that restart it went on: more bytes, or completed
	pendingResume     bool   // a Resume was called and did not return
}

// crashPartial is a download a kill interrupted half way: file file of job id held at bytes of
// its source name when the store was reopened after round round, when the server had seen
// seen requests.
type crashPartial struct {
	id    uuid.UUID
	file  int
	name  string
	at    int64
	round int
	seen  int // how many server requests had arrived by then
}

type crashModel struct {
	out           string // where the child puts local files
	jobs          map[uuid.UUID]*crashJob
	pendingCreate bool
	partials      map[crashPartial]crashPartial // downloads found half done after a kill, by id, file, name and offset
	tempSizes     map[string]int64              // the sizes of the temporary files when the child died
	midWrite      int                           // downloads a kill caught with bytes their record did not vouch for yet
	direct        map[string]bool               // temporary files found with pages written around the page cache
	srv           *bitstest.Server
}

// apply takes one line of the child's output into the model.
func (cm *crashModel) apply(t *testing.T, line string) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return
	}
	if f[1] == "create" {
		if f[0] == "try" {
			cm.pendingCreate = true
		} else {
			cm.pendingCreate = false
			cm.jobs[uuid.MustParse(f[2])] = &crashJob{}
		}
		return
	}
	cj := cm.jobs[uuid.MustParse(f[2])]
	require.NotNil(t, cj, line)
	ok := f[0] == "ok"
	switch f[1] {
	case "desc":
		if ok {
			cj.desc, cj.pendingDesc = f[3], ""
		} else {
			cj.pendingDesc = f[3]
		}
	case "addfile":
		if ok {
			cj.files, cj.pendingFile = append(cj.files, f[4]), ""
		} else {
			cj.pendingFile = f[4]
		}
	case "resume":
		if ok {
			cj.resumed, cj.pendingResume = true, false
		} else {
			cj.pendingResume = true
		}
	case "complete", "cancel", "partial":
		if ok {
			cj.gone, cj.pendingGone = true, false
			cj.completed = f[1] == "complete"
			if cj.completed && cj.seenResumed {
				cj.continued = true // resumed when a kill hit it, finished after the restart
			}
		} else {
			cj.pendingGone = true
		}
	}
}

// check compares the store with the model, then takes what the store says about calls that
// did not return as the truth.
func (cm *crashModel) check(t *testing.T, m *manager.Manager, sources map[string][]byte, round int) {
	c := connectAs(t, m, crashAdmin)
	e, err := c.EnumJobs(0)
	require.NoError(t, err)
	present, _, _ := e.Next(1000)
	seen := map[uuid.UUID]bool{}
	for _, j := range present {
		id := engine.Of(j).ID()
		seen[id] = true
		cj := cm.jobs[id]
		if cj == nil {
			require.True(t, cm.pendingCreate, "round %d: job %s was never created", round, id)
			cm.pendingCreate = false
			cj = &crashJob{}
			cm.jobs[id] = cj
		}
		require.False(t, cj.gone, "round %d: job %s was completed or cancelled", round, id)
		desc, _ := j.GetDescription()
		require.Contains(t, []string{cj.desc, cj.pendingDesc}, desc, "round %d: %s description", round, id)
		cj.desc, cj.pendingDesc = desc, ""
		p, _ := j.GetProgress()
		n := int(p.FilesTotal)
		require.GreaterOrEqual(t, n, len(cj.files), "round %d: %s lost a file", round, id)
		if n > len(cj.files) {
			require.Equal(t, len(cj.files)+1, n, "round %d: %s", round, id)
			require.NotEmpty(t, cj.pendingFile)
			cj.files = append(cj.files, cj.pendingFile)
		}
		cj.pendingFile = ""
		st, _ := j.GetState()
		if cj.pendingResume && st != state.Suspended {
			cj.resumed = true // the Resume that did not return took effect
		}
		cj.pendingResume = false
		if cj.resumed {
			// A resumed job comes back queued (or where its transfer had got to): the restart
			// does not suspend it.
			require.NotEqual(t, state.Suspended, st, "round %d: %s was resumed", round, id)
			jp, _ := j.GetProgress()
			if cj.seenResumed && jp.BytesTransferred > cj.seenBytes {
				cj.continued = true
			}
			if jp.FilesTransferred < jp.FilesTotal {
				cj.seenResumed, cj.seenBytes = true, jp.BytesTransferred
			}
		}
		for i, name := range cj.files {
			f := fileAt(t, j, i)
			fp, _ := f.GetProgress()
			temp, _ := f.GetTemporaryName()
			if size, ok := cm.tempSizes[temp]; ok && !fp.Completed && size > int64(fp.BytesTransferred) {
				// The child was writing this file when it died: Open cut the bytes past the
				// record off.
				cm.midWrite++
			}
			if fp.BytesTransferred == 0 {
				continue
			}
			data, err := os.ReadFile(temp)
			if errors.Is(err, os.ErrNotExist) && cj.pendingGone && fp.Completed {
				// A Complete that did not return renamed it already.
				local, _ := f.GetLocalName()
				data, err = os.ReadFile(local)
				require.NoError(t, err)
				require.True(t, bytes.Equal(sources[name], data), "round %d: %s file %d", round, id, i)
				continue
			}
			require.NoError(t, err, "round %d: %s file %d records %d bytes", round, id, i, fp.BytesTransferred)
			require.GreaterOrEqual(t, len(data), int(fp.BytesTransferred))
			require.True(t, bytes.Equal(sources[name][:fp.BytesTransferred], data[:fp.BytesTransferred]),
				"round %d: %s file %d: the temporary file differs from the source", round, id, i)
			key := crashPartial{id: id, file: i, name: name, at: int64(fp.BytesTransferred)}
			if _, dup := cm.partials[key]; !dup && !fp.Completed && fp.BytesTransferred < uint64(len(sources[name])) {
				key.round, key.seen = round, len(cm.srv.Requests())
				cm.partials[crashPartial{id: id, file: i, name: name, at: key.at}] = key
			}
		}
	}
	for id, cj := range cm.jobs {
		if cj.completed && !cj.verified {
			// Complete returned: every file is whole under its local name.
			for k, name := range cj.files {
				data, err := os.ReadFile(filepath.Join(cm.out, fmt.Sprintf("%s-%d-%s", id, k, name)))
				require.NoError(t, err, "round %d: %s file %d", round, id, k)
				require.True(t, bytes.Equal(sources[name], data), "round %d: %s file %d is not whole", round, id, k)
			}
			cj.verified = true
		}
		if cj.gone || seen[id] {
			continue
		}
		require.True(t, cj.pendingGone, "round %d: job %s disappeared", round, id)
		cj.gone, cj.pendingGone = true, false
	}
	cm.pendingCreate = false
}

func TestCrashKeepsEveryReturnedCall(t *testing.T) {
	if os.Getenv("BITSEMU_CRASH_DIR") != "" {
		t.Skip("in the child")
	}
	kills := 200
	switch {
	case testing.Short():
		kills = 30
	case raceEnabled:
		kills = 60 // a race-enabled child runs several times slower
	}
	if s := os.Getenv("BITSEMU_CRASH_KILLS"); s != "" {
		var err error
		kills, err = strconv.Atoi(s)
		require.NoError(t, err, "BITSEMU_CRASH_KILLS")
	}
	sources := crashFiles()
	srv := newServer(t, sources, bitstest.Flaky(7, 0.2))
	dir, out := t.TempDir(), t.TempDir()
	cm := &crashModel{out: out, jobs: map[uuid.UUID]*crashJob{}, partials: map[crashPartial]crashPartial{}, srv: srv,
		direct: map[string]bool{}}
	r := rand.New(rand.NewPCG(11, 12))
	midWork := 0 // kills that hit a child still at work
	for round := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "BITSEMU_CRASH_DIR="+dir, "BITSEMU_CRASH_OUT="+out,
			"BITSEMU_CRASH_URL="+srv.URL, "BITSEMU_CRASH_SEED="+strconv.Itoa(round))
		if round >= kills-max(2, kills/10) {
			cmd.Env = append(cmd.Env, "BITSEMU_CRASH_KEEP=1")
		}
		if round%4 >= 2 {
			cmd.Env = append(cmd.Env, "BITSEMU_CRASH_DIRECT=1")
		}
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		lines := bufio.NewScanner(stdout)
		// Let the child work: a number of lines; every other round, also until a download is
		// streaming, so that the kill lands in the middle of it.
		want, read := 20+r.IntN(120), 0
		midDownload, sent := round%2 == 1, srv.Stats().BytesSent
		for ; (read < want || midDownload && srv.Stats().BytesSent < sent+32<<10 && read < 20_000) && lines.Scan(); read++ {
			require.False(t, strings.HasPrefix(lines.Text(), "fail"), lines.Text())
			cm.apply(t, lines.Text())
		}
		require.NoError(t, cmd.Process.Signal(os.Kill))
		for lines.Scan() { // what the child wrote before it died
			cm.apply(t, lines.Text())
		}
		werr := cmd.Wait()
		var exit *exec.ExitError
		require.ErrorAs(t, werr, &exit, "round %d: the child ended on its own", round)
		if !exit.Exited() && read >= want {
			midWork++ // killed by the signal, while still printing
		}

		cm.tempSizes = map[string]int64{}
		temps, err := filepath.Glob(filepath.Join(out, "BIT*.tmp"))
		require.NoError(t, err)
		for _, name := range temps {
			if fi, err := os.Stat(name); err == nil {
				cm.tempSizes[name] = fi.Size()
			}
			if uncachedPages(name) > 0 {
				// Pages of the file that the page cache never had: written with direct I/O.
				cm.direct[name] = true
			}
		}
		m, err := manager.Open(dir, manager.WithManualTransfers(), manager.WithLimits(job.Limits{}))
		require.NoError(t, err, "round %d", round)
		cm.check(t, m, sources, round)
		require.NoError(t, m.Close())
	}

	// Last, the jobs left finish: every file ends byte-identical to its source. Jobs resumed
	// before a kill are not resumed again: the restart must have kept them queued.
	m, err := manager.Open(dir, manager.WithLimits(job.Limits{}))
	require.NoError(t, err)
	defer m.Close()
	c := connectAs(t, m, crashAdmin)
	e, _ := c.EnumJobs(0)
	jobs, _, _ := e.Next(1000)
	srv.ClearFaults()
	for _, j := range jobs {
		p, _ := j.GetProgress()
		// A file added to a TRANSFERRED job waits for a Resume (life-cycle-of-a-bits-job).
		more := stateOf(t, j) == state.Transferred && p.FilesTransferred < p.FilesTotal
		if p.FilesTotal > 0 && (!cm.jobs[engine.Of(j).ID()].resumed || more) {
			require.NoError(t, j.Resume())
		}
	}
	resumedDone := 0 // jobs resumed before a kill, finished and checked
	deadline := time.Now().Add(time.Minute)
	for _, j := range jobs {
		for {
			st := stateOf(t, j)
			if st == state.Transferred || st == state.Suspended || time.Now().After(deadline) {
				break
			}
			if st == state.TransientError || st == state.Error {
				require.NoError(t, j.Resume()) // a cut before the faults were cleared
			}
			m.WaitIdle(context.Background())
		}
		cj := cm.jobs[engine.Of(j).ID()]
		if p, _ := j.GetProgress(); p.FilesTotal > 0 {
			require.Equal(t, state.Transferred, stateOf(t, j), "%s: %s", engine.Of(j).ID(), errorOf(j))
		}
		if stateOf(t, j) != state.Transferred {
			continue
		}
		code, err := j.Complete()
		require.NoError(t, err)
		assert.Equal(t, hresult.S_OK, code)
		for i, name := range cj.files {
			local, _ := fileAt(t, j, i).GetLocalName()
			data, err := os.ReadFile(local)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(sources[name], data), "%s file %d", engine.Of(j).ID(), i)
		}
		if cj.resumed {
			resumedDone++
			if cj.seenResumed {
				cj.continued = true
			}
		}
	}

	// The faults happened. Kills: every one hit a working child.
	assert.Equal(t, kills, midWork, "kills that hit a child still at work")
	// Downloads interrupted by a kill went on from the byte where they stopped: after the
	// restart, the server got a GET of that file from that offset.
	reqs := srv.Requests()
	continued := 0
	for _, p := range cm.partials {
		rng := fmt.Sprintf("bytes=%d-", p.at)
		for _, rq := range reqs[p.seen:] {
			if rq.Method == "GET" && rq.Path == "/"+p.name && strings.HasPrefix(rq.Range, rng) {
				continued++
				break
			}
		}
	}
	cuts := 0
	for _, rq := range reqs {
		if len(rq.Faults) > 0 {
			cuts++
		}
	}
	minimum := max(2, kills/15)
	assert.GreaterOrEqual(t, len(cm.partials), minimum, "downloads found half done after a kill")
	assert.GreaterOrEqual(t, continued, minimum, "interrupted downloads continued from their offset after a restart")
	resumedOn := 0 // jobs resumed when a kill hit them that went on after the restart
	for _, cj := range cm.jobs {
		if cj.continued {
			resumedOn++
		}
	}
	assert.GreaterOrEqual(t, resumedOn, minimum, "jobs resumed before a kill that went on after the restart")
	assert.GreaterOrEqual(t, resumedDone, 1, "jobs resumed before a kill that finished in the end without a new Resume")
	assert.Positive(t, cuts, "connections the flaky server cut or refused")
	assert.GreaterOrEqual(t, cm.midWrite, max(2, kills/20), "downloads a kill caught while they wrote bytes not yet recorded")
	if pageCacheVisible {
		// The children of every other pair of rounds wrote directly, and their files show it.
		assert.GreaterOrEqual(t, len(cm.direct), max(2, kills/20), "temporary files written with direct I/O")
	}
	t.Logf("%d kills (%d mid-work), %d downloads caught mid-write, %d jobs seen, %d downloads found half done after a kill, "+
		"%d continued from their offset, %d resumed jobs went on after a restart, %d finished in the end, %d flaky faults, "+
		"%d temporary files written directly",
		kills, midWork, cm.midWrite, len(cm.jobs), len(cm.partials), continued, resumedOn, resumedDone, cuts, len(cm.direct))
}
