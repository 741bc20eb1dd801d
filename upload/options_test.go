package upload_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/upload"
)

// TestOverwritesOff refuses a name that exists (409 at Create-Session), and a file that
// appears under the name during the session (409 at Close-Session, the file left as it was);
// the session survives that and publishes once the name is free.
func TestOverwritesOff(t *testing.T) {
	s := newSrv(t, upload.Options{})
	existing := filepath.Join(s.dir, "e.txt")
	require.NoError(t, os.WriteFile(existing, []byte("old"), 0o644))
	r := s.do("/e.txt", bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
	assertFailure(t, r, http.StatusConflict, hresult.E_ACCESSDENIED, bup.ContextRemoteFile)
	assert.Equal(t, []byte("old"), fileContent(t, existing))

	late := filepath.Join(s.dir, "late.txt")
	id := s.create("/late.txt")
	s.upload("/late.txt", id, []byte("mine"), 2)
	require.NoError(t, os.WriteFile(late, []byte("theirs"), 0o644))
	assertFailure(t, s.closeSession("/late.txt", id), http.StatusConflict, hresult.E_ACCESSDENIED, bup.ContextRemoteFile)
	assert.Equal(t, []byte("theirs"), fileContent(t, late))
	require.NoError(t, os.Remove(late))
	assertOK(t, s.closeSession("/late.txt", id))
	assert.Equal(t, []byte("mine"), fileContent(t, late))
}

// TestOverwritesOn replaces an existing file at Close-Session, and never a directory.
func TestOverwritesOn(t *testing.T) {
	s := newSrv(t, upload.Options{AllowOverwrites: true})
	existing := filepath.Join(s.dir, "e.txt")
	require.NoError(t, os.WriteFile(existing, []byte("old content"), 0o644))
	id := s.create("/e.txt")
	s.upload("/e.txt", id, []byte("new"), 2)
	assert.Equal(t, []byte("old content"), fileContent(t, existing), "replaced only at Close-Session")
	assertOK(t, s.closeSession("/e.txt", id))
	assert.Equal(t, []byte("new"), fileContent(t, existing))

	id = s.create("/d")
	s.upload("/d", id, []byte("x"), 1)
	require.NoError(t, os.Mkdir(filepath.Join(s.dir, "d"), 0o755))
	assertFailure(t, s.closeSession("/d", id), http.StatusBadRequest, hresult.E_INVALIDARG, bup.ContextRemoteFile)
	assert.DirExists(t, filepath.Join(s.dir, "d"))
}

// TestMaxUploadSize refuses fragments of an upload over the limit with 413 and BG_E_TOO_LARGE,
// and takes one of exactly the limit.
func TestMaxUploadSize(t *testing.T) {
	s := newSrv(t, upload.Options{MaxUploadSize: 100})
	big := pattern(101, 7)
	id := s.create("/big")
	r := s.fragment("/big", id, big, 0, 9)
	assertFailure(t, r, http.StatusRequestEntityTooLarge, hresult.BG_E_TOO_LARGE, bup.ContextRemoteFile)
	assert.Equal(t, uint64(0), s.h.Sessions()[0].Received, "nothing of it is stored")

	fits := pattern(100, 8)
	id = s.create("/fits")
	s.upload("/fits", id, fits, 30)
	assertOK(t, s.closeSession("/fits", id))
	assert.Equal(t, fits, fileContent(t, filepath.Join(s.dir, "fits")))
}

// TestSessionsPerUser allows 50 sessions per user by default: the 51st Create-Session is
// refused until one closes, other users are not affected, and a new Handler counts the
// sessions it finds.
func TestSessionsPerUser(t *testing.T) {
	opts := upload.Options{User: upload.HeaderUser("X-User")}
	s := newSrv(t, opts)
	var ids []string
	for i := range upload.DefaultMaxSessionsPerUser {
		ids = append(ids, s.create(fmt.Sprintf("/f%d", i), "X-User", "alice"))
	}
	over := func(user string) reply {
		return s.do("/over", bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol, "X-User", user)
	}
	assertFailure(t, over("alice"), http.StatusServiceUnavailable, hresult.HTTP(503), bup.ContextRemoteFile)
	bob := s.create("/bob", "X-User", "bob")
	assert.Len(t, s.h.Sessions(), 51)

	assertOK(t, s.do("/f0", bup.CancelSession, nil, bup.HeaderSessionID, ids[0]))
	id := s.create("/again", "X-User", "alice")
	assertFailure(t, over("alice"), http.StatusServiceUnavailable, hresult.HTTP(503), bup.ContextRemoteFile)

	// After a restart the count is the same.
	s.stop()
	s = newSrvIn(t, s.dir, opts)
	assertFailure(t, over("alice"), http.StatusServiceUnavailable, hresult.HTTP(503), bup.ContextRemoteFile)
	assertOK(t, s.do("/again", bup.CancelSession, nil, bup.HeaderSessionID, id))
	s.create("/again2", "X-User", "alice")
	assertOK(t, s.do("/bob", bup.CancelSession, nil, bup.HeaderSessionID, bob))
}

// TestSessionsPerUserOption sets another limit, and no limit.
func TestSessionsPerUserOption(t *testing.T) {
	s := newSrv(t, upload.Options{MaxSessionsPerUser: 2})
	s.create("/a")
	s.create("/b")
	r := s.do("/c", bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
	assertFailure(t, r, http.StatusServiceUnavailable, hresult.HTTP(503), bup.ContextRemoteFile)

	s = newSrv(t, upload.Options{MaxSessionsPerUser: -1})
	for i := range upload.DefaultMaxSessionsPerUser + 5 {
		s.create(fmt.Sprintf("/n%d", i))
	}
	assert.Len(t, s.h.Sessions(), upload.DefaultMaxSessionsPerUser+5)
}

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestSessionTimeout expires a session 14 days after its last processed packet, in virtual
// time: its data is removed by the timer, without any request, and a later packet gets
// BG_E_SESSION_NOT_FOUND. Every successful packet restarts the 14 days.
func TestSessionTimeout(t *testing.T) {
	vc := clock.NewVirtual(epoch)
	s := newSrv(t, upload.Options{Clock: vc})
	data := pattern(100, 9)
	id := s.create("/t")
	idle := s.create("/idle")
	s.fragment("/t", id, data, 0, 9)

	vc.Advance(upload.DefaultSessionTimeout - time.Second)
	assertOK(t, s.fragment("/t", id, data, 10, 19)) // restarts the session's 14 days
	require.Len(t, s.h.Sessions(), 2)

	vc.Advance(time.Second)
	assert.NoDirExists(t, s.sessionDir(idle), "the idle session expired")
	require.Len(t, s.h.Sessions(), 1)
	assert.DirExists(t, s.sessionDir(id))

	vc.Advance(upload.DefaultSessionTimeout - 2*time.Second)
	assert.DirExists(t, s.sessionDir(id))
	vc.Advance(time.Second)
	assert.NoDirExists(t, s.sessionDir(id))
	assert.Empty(t, s.h.Sessions())
	assertFailure(t, s.fragment("/t", id, data, 20, 29), http.StatusInternalServerError,
		hresult.BG_E_SESSION_NOT_FOUND, bup.ContextRemoteFile)
	assert.Zero(t, vc.Pending(), "no timer is left once no session is")
}

// TestSessionTimeoutOption and a restart: a new Handler removes sessions that expired while
// no handler ran, and times the others from their last packet.
func TestSessionTimeoutAcrossRestart(t *testing.T) {
	vc := clock.NewVirtual(epoch)
	opts := upload.Options{Clock: vc, SessionTimeout: time.Hour}
	s := newSrv(t, opts)
	old := s.create("/old")
	vc.Advance(30 * time.Minute)
	fresh := s.create("/fresh")
	s.stop()

	vc.Advance(45 * time.Minute) // old is 75 minutes idle, fresh 45
	s = newSrvIn(t, s.dir, opts)
	assert.NoDirExists(t, s.sessionDir(old))
	require.Len(t, s.h.Sessions(), 1)
	assert.Equal(t, fresh, s.h.Sessions()[0].ID)
	vc.Advance(15 * time.Minute)
	assert.Empty(t, s.h.Sessions())
	assert.NoDirExists(t, s.sessionDir(fresh))
}

// TestRestartContinuesTheSession stops the handler in the middle of an upload: a new Handler
// over the same directory takes the next fragment where the first left off, and bytes written
// but never acknowledged (a crash between the write and the Ack) are dropped, so the client's
// resend fills them.
func TestRestartContinuesTheSession(t *testing.T) {
	dir := t.TempDir()
	data := pattern(1000, 11)
	s := newSrvIn(t, dir, upload.Options{})
	id := s.create("/r.bin")
	s.fragment("/r.bin", id, data, 0, 399)
	s.stop()

	// Unacknowledged garbage at the end of the data file.
	f, err := os.OpenFile(filepath.Join(s.sessionDir(id), "data"), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("garbage"))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	s = newSrvIn(t, dir, upload.Options{})
	info := s.h.Sessions()
	require.Len(t, info, 1)
	assert.Equal(t, uint64(400), info[0].Received)
	r := s.fragment("/r.bin", id, data, 500, 999)
	assertFailure(t, r, http.StatusRequestedRangeNotSatisfiable, hresult.HTTP(416), bup.ContextRemoteFile)
	assert.Equal(t, uint64(400), r.next(t))
	assertOK(t, s.fragment("/r.bin", id, data, 400, 999))
	s.stop()

	s = newSrvIn(t, dir, upload.Options{})
	assertOK(t, s.closeSession("/r.bin", id))
	assert.Equal(t, data, fileContent(t, filepath.Join(dir, "r.bin")))
	assert.Empty(t, s.h.Sessions())
}

// TestRestartDropsBrokenSessions removes session directories whose state cannot be read, and
// leaves alone what is not a session's.
func TestRestartDropsBrokenSessions(t *testing.T) {
	dir := t.TempDir()
	s := newSrvIn(t, dir, upload.Options{})
	good := s.create("/good")
	broken := s.create("/broken")
	s.stop()
	require.NoError(t, os.WriteFile(filepath.Join(s.sessionDir(broken), "state.json"), []byte("{"), 0o600))
	stray := filepath.Join(dir, "BITS-Sessions", "notes.txt")
	require.NoError(t, os.WriteFile(stray, []byte("mine"), 0o644))
	var logged logBuffer
	s = newSrvIn(t, dir, upload.Options{ErrorLog: logged.logger()})
	require.Len(t, s.h.Sessions(), 1)
	assert.Equal(t, good, s.h.Sessions()[0].ID)
	assert.NoDirExists(t, s.sessionDir(broken))
	assert.FileExists(t, stray)
	assert.Contains(t, logged.String(), broken)
}

// TestNewChecksItsOptions refuses a directory that is not one, and bad URLs.
func TestNewChecksItsOptions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for name, c := range map[string]struct {
		dir  string
		opts upload.Options
	}{
		"missing directory": {filepath.Join(dir, "none"), upload.Options{}},
		"a file":            {file, upload.Options{}},
		"no notify URL":     {dir, upload.Options{NotifyType: upload.NotifyByValue}},
		"relative URL":      {dir, upload.Options{NotifyType: upload.NotifyByReference, NotifyURL: "app.asp"}},
		"ftp URL":           {dir, upload.Options{NotifyType: upload.NotifyByValue, NotifyURL: "ftp://h/app"}},
		"unknown type":      {dir, upload.Options{NotifyType: 3, NotifyURL: "http://h/app"}},
		"bad public URL":    {dir, upload.Options{PublicURL: "/bits"}},
	} {
		_, err := upload.New(c.dir, c.opts)
		assert.Error(t, err, name)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "BITS-Sessions"), nil, 0o644))
	_, err := upload.New(dir, upload.Options{})
	assert.ErrorContains(t, err, "BITS-Sessions")
}

// TestClosedHandler answers 503 after Close, and Close twice is an error.
func TestClosedHandler(t *testing.T) {
	s := newSrv(t, upload.Options{})
	require.NoError(t, s.h.Close())
	assert.ErrorIs(t, s.h.Close(), upload.ErrClosed)
	assertFailure(t, s.do("/x", bup.Ping, nil), http.StatusServiceUnavailable, hresult.HTTP(503), bup.ContextRemoteFile)
}

// TestRemove forgets a session as Cancel-Session would.
func TestRemove(t *testing.T) {
	s := newSrv(t, upload.Options{})
	id := s.create("/x")
	assert.True(t, s.h.Remove(id))
	assert.False(t, s.h.Remove(id))
	assert.False(t, s.h.Remove("nonsense"))
	assert.NoDirExists(t, s.sessionDir(id))
	assertFailure(t, s.closeSession("/x", id), http.StatusInternalServerError, hresult.BG_E_SESSION_NOT_FOUND, bup.ContextRemoteFile)
}

// TestHostID sends BITS-Host-Id and its fallback timeout in the Ack for Create-Session.
func TestHostID(t *testing.T) {
	s := newSrv(t, upload.Options{HostID: "node7.example.com", HostIDFallbackTimeout: 90 * time.Second})
	r := s.do("/h", bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
	assertOK(t, r)
	assert.Equal(t, "node7.example.com", r.Header.Get(bup.HeaderHostID))
	assert.Equal(t, "90", r.Header.Get(bup.HeaderHostIDFallbackTimeout))

	s = newSrv(t, upload.Options{})
	r = s.do("/h", bup.CreateSession, nil, bup.HeaderSupportedProtocols, bup.Protocol)
	assert.Empty(t, r.Header.Values(bup.HeaderHostID))
	assert.Empty(t, r.Header.Values(bup.HeaderHostIDFallbackTimeout))
}
