package manager_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/uptest"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
	"github.com/bitsemu/bitsemu/transfer"
)

// These tests run upload and upload-reply jobs through the manager against internal/uptest, an
// upload server written from the protocol's pages, on the in-memory network and the harness's
// virtual clock.

// upEnv is an upload server on an in-memory network, and a harness whose transfers use it.
type upEnv struct {
	h    *bitstest.Harness
	c    *manager.Client
	n    *bitstest.Network
	s    *uptest.Server
	base string
	dir  string
}

const upFragment = 16 << 10

// newUpEnv starts s on a new network and a harness on it, with fragments of upFragment bytes.
func newUpEnv(t *testing.T, s *uptest.Server, opts ...manager.Option) *upEnv {
	t.Helper()
	n := bitstest.NewNetwork()
	t.Cleanup(func() { n.Close() })
	base, stop := s.Listen(n, "up.test:80")
	t.Cleanup(stop)
	opts = append([]manager.Option{manager.WithTransfer(transfer.Config{Dial: n.Dial, FragmentSize: upFragment})}, opts...)
	h := bitstest.NewHarness(t, opts...)
	return &upEnv{h: h, c: h.Connect(userSID), n: n, s: s, base: base, dir: t.TempDir()}
}

// job creates a job of type typ uploading data, written to a new local file, to path.
func (e *upEnv) job(t *testing.T, typ bits.JobType, path string, data []byte) bits.Job {
	t.Helper()
	local := filepath.Join(e.dir, filepath.Base(path))
	require.NoError(t, os.WriteFile(local, data, 0o600))
	j, err := e.c.CreateJob("upload "+path, typ)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(e.base+path, local))
	return j
}

// transferred steps the clock until j is TRANSFERRED, failing the test if it ends otherwise.
func (e *upEnv) transferred(t *testing.T, j bits.Job) {
	t.Helper()
	requireTransferred(t, e.h, j)
}

// requireTransferred steps h's clock until j is TRANSFERRED or ERROR, and fails the test with
// the job's error unless it is TRANSFERRED.
func requireTransferred(t *testing.T, h *bitstest.Harness, j bits.Job) {
	t.Helper()
	st, err := h.WaitState(j, 24*time.Hour, state.Transferred, state.Error)
	require.NoError(t, err)
	if st == state.Error {
		_, code := jobError(t, j)
		t.Fatalf("job in ERROR: %v", code)
	}
}

// requireJobError steps h's clock until j is in an error state (or TRANSFERRED), and checks
// that it is in want with the error context and code given.
func requireJobError(t *testing.T, h *bitstest.Harness, j bits.Job, want state.State, ctx bits.ErrorContext, code hresult.Code) {
	t.Helper()
	st, err := h.WaitState(j, 24*time.Hour, state.TransientError, state.Error, state.Transferred)
	require.NoError(t, err)
	require.Equal(t, want, st)
	gotCtx, gotCode := jobError(t, j)
	assert.Equal(t, ctx, gotCtx)
	assert.Equal(t, code, gotCode)
}

// restartable is a manager keeping its jobs in a directory, on an in-memory network, with one
// upload job resumed, for tests that close the manager and open the directory again.
type restartable struct {
	dir string
	opt manager.Option
	h   *bitstest.Harness
	j   bits.Job
}

// startRestartable opens a harness keeping its jobs in a new directory, whose transfers use n
// and cfg (with fragments of upFragment bytes), and resumes a job of type typ uploading data,
// written to a local file, to remote.
func startRestartable(t *testing.T, n *bitstest.Network, cfg transfer.Config, typ bits.JobType, remote string, data []byte) *restartable {
	t.Helper()
	dir := t.TempDir()
	cfg.Dial, cfg.FragmentSize = n.Dial, upFragment
	r := &restartable{dir: dir, opt: manager.WithTransfer(cfg)}
	var err error
	r.h, err = bitstest.OpenHarness(t, filepath.Join(dir, "store"), nil, r.opt)
	require.NoError(t, err)
	local := filepath.Join(dir, "upload.bin")
	require.NoError(t, os.WriteFile(local, data, 0o600))
	r.j, err = r.h.Connect(userSID).CreateJob("restartable", typ)
	require.NoError(t, err)
	require.NoError(t, r.j.AddFile(remote, local))
	require.NoError(t, r.j.Resume())
	return r
}

// restart closes the manager and opens its directory again on the same clock; the job is found
// again by its GUID.
func (r *restartable) restart(t *testing.T, between func()) {
	t.Helper()
	id, err := r.j.GetId()
	require.NoError(t, err)
	r.h.Close()
	if between != nil {
		between()
	}
	r.h, err = bitstest.OpenHarness(t, filepath.Join(r.dir, "store"), r.h.Clock, r.opt)
	require.NoError(t, err)
	r.j, err = r.h.Connect(userSID).GetJob(id)
	require.NoError(t, err)
}

// stallAfter makes the server keep silent on the n-th fragment (counting from 1) and after.
func stallAfter(n int) func(uptest.Packet) uptest.Fault {
	var mu sync.Mutex
	seen := 0
	return func(p uptest.Packet) uptest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if p.Type == "Fragment" {
			seen++
		}
		return uptest.Fault{Stall: p.Type == "Fragment" && seen >= n}
	}
}

func TestUploadJob(t *testing.T) {
	e := newUpEnv(t, &uptest.Server{})
	data := content(1, 5*upFragment+77)
	j := e.job(t, bits.Upload, "/in/data.bin", data)
	p, err := j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.SizeUnknown, p.BytesTotal, "the size is known once the upload starts")
	require.NoError(t, j.Resume())
	e.transferred(t, j)

	got, ok := e.s.File("/in/data.bin")
	require.True(t, ok, "the session was closed before the job became TRANSFERRED")
	assert.True(t, bytes.Equal(data, got))
	p, err = j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.Progress{BytesTotal: uint64(len(data)), BytesTransferred: uint64(len(data)), FilesTotal: 1, FilesTransferred: 1}, p)
	assert.Equal(t, []string{"Ping", "Create-Session", "Fragment", "Fragment", "Fragment", "Fragment", "Fragment", "Fragment", "Close-Session"}, upTypes(e.s))

	// Complete needs no network for an upload job (IBackgroundCopyJob::Complete).
	before := len(e.s.Packets())
	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	e.h.Settle()
	assert.Len(t, e.s.Packets(), before)
	assert.Equal(t, state.Acknowledged, stateOf(t, j))
	local, err := os.ReadFile(filepath.Join(e.dir, "data.bin"))
	require.NoError(t, err)
	assert.Equal(t, data, local, "the local file stays as it was")
}

func upTypes(s *uptest.Server) []string {
	var out []string
	for _, p := range s.Packets() {
		out = append(out, p.Type)
	}
	return out
}

func TestUploadReplyJob(t *testing.T) {
	reply := func(name string, b []byte) []byte { return []byte(fmt.Sprintf("%s got %d bytes", name, len(b))) }
	e := newUpEnv(t, &uptest.Server{Reply: reply})
	data := content(2, 3*upFragment)
	j := e.job(t, bits.UploadReply, "/app/report.bin", data)
	replyName := filepath.Join(e.dir, "answer.txt")
	require.NoError(t, j.SetReplyFileName(replyName))
	rp, err := j.GetReplyProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.ReplyProgress{BytesTotal: bits.SizeUnknown}, rp, "BG_SIZE_UNKNOWN until the reply starts")
	_, err = j.GetReplyData()
	require.ErrorIs(t, err, hresult.BG_E_INVALID_STATE)

	require.NoError(t, j.Resume())
	e.transferred(t, j)

	want := "report.bin got 49152 bytes"
	rp, err = j.GetReplyProgress()
	require.NoError(t, err)
	assert.Equal(t, bits.ReplyProgress{BytesTotal: uint64(len(want)), BytesTransferred: uint64(len(want))}, rp)
	got, err := j.GetReplyData()
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
	name, err := j.GetReplyFileName()
	require.NoError(t, err)
	assert.Equal(t, replyName, name)
	_, err = os.Stat(replyName)
	assert.ErrorIs(t, err, os.ErrNotExist, "the reply file appears on Complete")
	require.ErrorIs(t, j.SetReplyFileName(filepath.Join(e.dir, "other.txt")), hresult.BG_E_INVALID_STATE, "the reply has started")
	// The reply was downloaded before the session was closed (Close-Session: else it is lost).
	types := upTypes(e.s)
	assert.Equal(t, "Close-Session", types[len(types)-1])
	uploaded, ok := e.s.File("/app/report.bin")
	require.True(t, ok)
	assert.Equal(t, data, uploaded)

	code, err := j.Complete()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	onDisk, err := os.ReadFile(replyName)
	require.NoError(t, err)
	assert.Equal(t, want, string(onDisk))
	got, err = j.GetReplyData()
	require.NoError(t, err, "GetReplyData after Complete reads the reply file")
	assert.Equal(t, want, string(got))
	noTempFiles(t, e.dir)
}

func TestUploadReplyGeneratedNameAndLimits(t *testing.T) {
	big := bytes.Repeat([]byte("r"), job.MaxReplyDataBytes+1)
	e := newUpEnv(t, &uptest.Server{Reply: func(string, []byte) []byte { return big }})
	j := e.job(t, bits.UploadReply, "/app/x", content(3, 100))
	require.NoError(t, j.Resume())
	e.transferred(t, j)
	data, err := j.GetReplyData()
	require.ErrorIs(t, err, hresult.BG_E_TOO_LARGE, "over MaxReplyDataBytes")
	assert.Nil(t, data)
	name, err := j.GetReplyFileName()
	require.NoError(t, err)
	assert.Equal(t, e.dir, filepath.Dir(name), "a name beside the upload file")
	_, err = j.Complete()
	require.NoError(t, err)
	onDisk, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(big, onDisk))
}

func TestUploadReplyEmpty(t *testing.T) {
	e := newUpEnv(t, &uptest.Server{Reply: func(string, []byte) []byte { return nil }})
	j := e.job(t, bits.UploadReply, "/app/x", content(3, 100))
	require.NoError(t, j.Resume())
	e.transferred(t, j)
	data, err := j.GetReplyData()
	require.NoError(t, err)
	assert.Nil(t, data, "no reply: a nil buffer")
	name, _ := j.GetReplyFileName()
	_, err = j.Complete()
	require.NoError(t, err)
	fi, err := os.Stat(name)
	require.NoError(t, err)
	assert.Zero(t, fi.Size(), "the reply file is empty when the server sent no reply")
}

// uploadCuts is how many connections TestUploadCutsByteExact cuts: 1,000, or 100 under -short;
// BITSEMU_UPLOAD_CUTS overrides both.
func uploadCuts(t *testing.T) int { return envSize(t, "BITSEMU_UPLOAD_CUTS", 1000, 100) }

// TestUploadCutsByteExact cuts upload connections at random moments (in the middle of a
// fragment, after a fragment before its Ack, on the other packets) until the planned number of
// cuts happened. Every job retries after its retry delay and goes on where the server is; the
// server ends with every file byte for byte, and the server's log shows at most one fragment
// sent again per cut.
func TestUploadCutsByteExact(t *testing.T) {
	cuts := uploadCuts(t)
	jobs := max(cuts/20, 5)
	rng := rand.New(rand.NewPCG(uint64(cuts), 99))
	var mu sync.Mutex
	left := cuts
	s := &uptest.Server{Fault: func(p uptest.Packet) uptest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if left == 0 || rng.IntN(2) != 0 {
			return uptest.Fault{}
		}
		left--
		after := int64(-1)
		if p.Type == "Fragment" && rng.IntN(3) != 0 {
			after = rng.Int64N(p.Length + 1)
		}
		return uptest.Fault{Cut: true, CutAfter: after}
	}}
	e := newUpEnv(t, s, manager.WithLimits(job.Limits{}))
	files := map[string][]byte{}
	var all []bits.Job
	need := 0
	total := 0
	for i := range jobs {
		path := fmt.Sprintf("/cuts/%04d.bin", i)
		data := content(100+i, 1+rng.IntN(60*upFragment))
		files[path] = data
		need += (len(data) + upFragment - 1) / upFragment
		total += len(data)
		j := e.job(t, bits.Upload, path, data)
		require.NoError(t, j.SetMinimumRetryDelay(5))
		require.NoError(t, j.SetPriority(bits.Foreground))
		all = append(all, j)
	}
	for _, j := range all {
		require.NoError(t, j.Resume())
	}
	done := e.h.RunUntil(bitstest.Epoch.Add(240*time.Hour), func() bool {
		for _, j := range all {
			if st, _ := j.GetState(); st != state.Transferred {
				return false
			}
		}
		return true
	})
	require.True(t, done, "every upload finished")
	for path, data := range files {
		got, ok := s.File(path)
		require.True(t, ok, path)
		require.True(t, bytes.Equal(data, got), "%s differs", path)
	}
	mu.Lock()
	assert.Zero(t, left, "every planned cut happened")
	mu.Unlock()
	assert.Equal(t, cuts, s.Cuts(), "the server cut as planned")
	errs := 0
	for _, j := range all {
		n, _ := j.GetErrorCount()
		errs += int(n)
	}
	assert.Equal(t, cuts, errs, "each cut is one transient error of its job")
	assert.LessOrEqual(t, s.Count("Fragment"), need+cuts, "at most one fragment sent again per cut")
	assert.LessOrEqual(t, s.BodyBytes(), int64(total+cuts*upFragment), "at most a fragment's bytes again per cut")
	t.Logf("%d jobs, %d bytes, %d cuts, %d fragments for %d needed", jobs, total, cuts, s.Count("Fragment"), need)
}

func TestUploadRestartGoesOnInTheSameSession(t *testing.T) {
	n := bitstest.NewNetwork()
	defer n.Close()
	var stall sync.Mutex
	stalling := true
	fragments := 0
	s := &uptest.Server{Fault: func(p uptest.Packet) uptest.Fault {
		stall.Lock()
		defer stall.Unlock()
		if p.Type == "Fragment" {
			fragments++
		}
		return uptest.Fault{Stall: stalling && p.Type == "Fragment" && fragments == 4}
	}}
	base, stop := s.Listen(n, "up.test:80")
	defer stop()
	data := content(4, 8*upFragment)
	r := startRestartable(t, n, transfer.Config{}, bits.Upload, base+"/data.bin", data)
	r.h.Settle() // three fragments acknowledged, the fourth unanswered
	require.Equal(t, state.Transferring, stateOf(t, r.j))
	p, err := r.j.GetProgress()
	require.NoError(t, err)
	require.Equal(t, uint64(3*upFragment), p.BytesTransferred)
	before := 0
	r.restart(t, func() {
		stall.Lock()
		stalling = false
		stall.Unlock()
		before = len(s.Packets())
	})
	p, err = r.j.GetProgress()
	require.NoError(t, err)
	assert.Equal(t, uint64(3*upFragment), p.BytesTransferred, "the acknowledged offset was kept")
	requireTransferred(t, r.h, r.j)
	got, _ := s.File("/data.bin")
	assert.True(t, bytes.Equal(data, got))
	assert.Equal(t, 1, s.Count("Create-Session"), "the same session after the restart")
	after := s.Packets()[before:]
	require.GreaterOrEqual(t, len(after), 2)
	assert.Equal(t, "Ping", after[0].Type)
	assert.Equal(t, fmt.Sprintf("bytes %d-%d/%d", 3*upFragment, 4*upFragment-1, len(data)), after[1].Range,
		"it goes on from the acknowledged byte")
}

func TestUploadSessionForgotten(t *testing.T) {
	n := 0
	e := newUpEnv(t, &uptest.Server{Fault: func(p uptest.Packet) uptest.Fault {
		if p.Type == "Fragment" {
			n++
		}
		return uptest.Fault{Forget: p.Type == "Fragment" && n == 3}
	}})
	data := content(5, 4*upFragment)
	j := e.job(t, bits.Upload, "/f", data)
	require.NoError(t, j.Resume())
	e.transferred(t, j)
	got, _ := e.s.File("/f")
	assert.True(t, bytes.Equal(data, got))
	assert.Equal(t, 2, e.s.Count("Create-Session"), "Create-Session again after BG_E_SESSION_NOT_FOUND")
	count, _ := j.GetErrorCount()
	assert.Zero(t, count, "within the same attempt")
}

func TestUploadTooLargeFragmentsGetSmaller(t *testing.T) {
	e := newUpEnv(t, &uptest.Server{MaxFragment: 5000})
	data := content(6, 2*upFragment)
	j := e.job(t, bits.Upload, "/f", data)
	require.NoError(t, j.Resume())
	e.transferred(t, j)
	got, _ := e.s.File("/f")
	assert.True(t, bytes.Equal(data, got))
	for _, p := range e.s.Packets() {
		if p.Type == "Fragment" && p.Length <= 5000 {
			return
		}
	}
	t.Fatal("no fragment small enough was sent")
}

func TestUploadErrorRepliesBecomeTheJobsError(t *testing.T) {
	tests := []struct {
		name  string
		fault uptest.Fault
		want  state.State
		ctx   bits.ErrorContext
		code  hresult.Code
	}{
		{"application", uptest.Fault{Status: 403, Code: "0x80070005", Context: "0x7"}, state.Error, bits.ContextRemoteApplication, hresult.E_ACCESSDENIED},
		{"server", uptest.Fault{Status: 500, Code: "0x80070070", Context: "0x5"}, state.TransientError, bits.ContextRemoteFile, hresult.Code(0x80070070)},
		{"status only", uptest.Fault{Status: 404}, state.Error, bits.ContextRemoteFile, hresult.HTTP(404)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newUpEnv(t, &uptest.Server{Fault: func(p uptest.Packet) uptest.Fault {
				if p.Type == "Fragment" {
					return tt.fault
				}
				return uptest.Fault{}
			}})
			j := e.job(t, bits.UploadReply, "/f", content(7, 100))
			require.NoError(t, j.Resume())
			requireJobError(t, e.h, j, tt.want, tt.ctx, tt.code)
			e2, err := j.GetError()
			require.NoError(t, err)
			proto, err := e2.GetProtocol()
			require.NoError(t, err)
			assert.Equal(t, "http", proto)
			rp, _ := j.GetReplyProgress()
			assert.Equal(t, bits.SizeUnknown, rp.BytesTotal, "the upload failed, not the reply (GetError page)")
		})
	}
}

func TestUploadReplyDownloadFails(t *testing.T) {
	s := &uptest.Server{Reply: func(string, []byte) []byte { return []byte("the reply") }, ReplyStatus: 404}
	e := newUpEnv(t, s)
	data := content(7, 2*upFragment)
	j := e.job(t, bits.UploadReply, "/f", data)
	require.NoError(t, j.Resume())
	requireJobError(t, e.h, j, state.Error, bits.ContextRemoteFile, hresult.HTTP(404))
	rp, _ := j.GetReplyProgress()
	assert.NotEqual(t, bits.SizeUnknown, rp.BytesTotal, "the reply failed, not the upload (GetError page)")
	p, _ := j.GetProgress()
	assert.Equal(t, uint64(len(data)), p.BytesTransferred, "the upload itself is done")

	// Resume fetches the reply again; the upload is not sent again.
	fragments := e.s.Count("Fragment")
	s.ReplyStatus = 0
	require.NoError(t, j.Resume())
	e.transferred(t, j)
	assert.Equal(t, fragments, e.s.Count("Fragment"))
	assert.Equal(t, 1, e.s.Count("Create-Session"))
	got, err := j.GetReplyData()
	require.NoError(t, err)
	assert.Equal(t, "the reply", string(got))
}

func TestUploadLocalFileChanged(t *testing.T) {
	e := newUpEnv(t, &uptest.Server{Fault: stallAfter(3)})
	data := content(8, 6*upFragment)
	j := e.job(t, bits.Upload, "/f", data)
	require.NoError(t, j.Resume())
	e.h.Settle()
	require.Equal(t, state.Transferring, stateOf(t, j))
	require.NoError(t, j.Suspend())
	local := filepath.Join(e.dir, "f")
	require.NoError(t, os.WriteFile(local, content(9, 6*upFragment), 0o600))
	e.s.Fault = nil
	require.NoError(t, j.Resume())
	requireJobError(t, e.h, j, state.Error, bits.ContextLocalFile, hresult.BG_E_LOCAL_FILE_CHANGED)
}

func TestUploadMissingLocalFile(t *testing.T) {
	e := newUpEnv(t, &uptest.Server{})
	j, err := e.c.CreateJob("up", bits.Upload)
	require.NoError(t, err)
	require.NoError(t, j.AddFile(e.base+"/f", filepath.Join(e.dir, "missing.bin")))
	require.NoError(t, j.Resume())
	requireJobError(t, e.h, j, state.Error, bits.ContextLocalFile, hresult.ERROR_FILE_NOT_FOUND)
	assert.Empty(t, e.s.Packets(), "nothing sent")
}

func TestUploadCancelSendsCancelSession(t *testing.T) {
	e := newUpEnv(t, &uptest.Server{Fault: stallAfter(2)})
	j := e.job(t, bits.UploadReply, "/f", content(10, 4*upFragment))
	require.NoError(t, j.Resume())
	e.h.Settle()
	require.Equal(t, state.Transferring, stateOf(t, j))
	require.Equal(t, 1, e.s.Sessions())
	code, err := j.Cancel()
	require.NoError(t, err)
	assert.Equal(t, hresult.S_OK, code)
	e.h.Settle()
	assert.Len(t, e.s.Cancelled(), 1, "the server heard Cancel-Session")
	assert.Zero(t, e.s.Sessions())
	types := upTypes(e.s)
	assert.Equal(t, "Cancel-Session", types[len(types)-1])
	noTempFiles(t, e.dir)
}

func TestUploadCancelSessionIsTriedAgain(t *testing.T) {
	tries := 0
	s := &uptest.Server{}
	e := newUpEnv(t, s)
	s.Fault = stallAfter(2)
	j := e.job(t, bits.Upload, "/f", content(11, 4*upFragment))
	require.NoError(t, j.SetMinimumRetryDelay(60))
	require.NoError(t, j.Resume())
	e.h.Settle()
	s.Fault = func(p uptest.Packet) uptest.Fault {
		if p.Type != "Cancel-Session" {
			return uptest.Fault{}
		}
		tries++
		return uptest.Fault{Status: 503 * btoi(tries < 3)}
	}
	_, err := j.Cancel()
	require.NoError(t, err)
	e.h.Settle()
	assert.Equal(t, 1, tries)
	e.h.Step(time.Minute)
	assert.Equal(t, 2, tries, "again after the retry delay")
	e.h.Step(time.Minute)
	assert.Equal(t, 3, tries)
	assert.Len(t, s.Cancelled(), 1)
	e.h.Step(time.Hour)
	assert.Equal(t, 3, tries, "not again once it got through")
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestUploadSilentServer: a server that never answers a fragment leaves the harness's steps
// free to return (the upload waits on a silent peer); the stall timeout then runs in virtual
// time.
func TestUploadSilentServer(t *testing.T) {
	e := newUpEnv(t, &uptest.Server{Fault: stallAfter(1)})
	j := e.job(t, bits.Upload, "/f", content(12, 3*upFragment))
	require.NoError(t, j.Resume())
	e.h.Settle()
	assert.Equal(t, state.Transferring, stateOf(t, j))
	e.h.Step(2*time.Minute - time.Second)
	assert.Equal(t, state.Transferring, stateOf(t, j))
	e.h.Step(time.Second)
	assert.Equal(t, state.TransientError, stateOf(t, j))
	_, code := jobError(t, j)
	assert.Equal(t, hresult.ERROR_WINHTTP_TIMEOUT, code)
}

// TestUploadUnderTheBandwidthLimit: a background upload is paced by the manager's bandwidth
// limit, in virtual time.
func TestUploadUnderTheBandwidthLimit(t *testing.T) {
	e := newUpEnv(t, &uptest.Server{}, manager.WithBandwidth(16<<10))
	data := content(13, 4*upFragment)
	j := e.job(t, bits.Upload, "/f", data)
	require.NoError(t, j.Resume())
	start := e.h.Clock.Now()
	e.transferred(t, j)
	took := e.h.Clock.Now().Sub(start)
	assert.GreaterOrEqual(t, took, 3*time.Second, "64 KiB at 16 KiB/s, less the first burst")
	assert.Less(t, took, 5*time.Second)
	got, _ := e.s.File("/f")
	assert.True(t, bytes.Equal(data, got))
}
