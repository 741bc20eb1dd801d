//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The uids the two-user test runs commands as; they need no entry in the user database.
const (
	aliceUID = 52001
	bobUID   = 52002
)

// openPath makes dir and its parents up to / reachable (search permission) by every user, so
// that other uids can reach a file by name in it.
func openPath(t *testing.T, dir string) {
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		require.NoError(t, err)
		require.NoError(t, os.Chmod(d, fi.Mode().Perm()|0o111))
	}
}

// readDir returns the names in dir.
func readDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// Users of one service are told apart by their uid, which the kernel gives the service: each
// sees and changes only their own jobs, whatever their environment claims; root, an
// administrator, sees and takes everyone's; a job's notify command line runs as its owner.
func TestUsersAreTheirUIDs(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run commands as two other uids against one service")
	}
	t.Parallel()
	root := newUser(t)
	openPath(t, root.store)
	openPath(t, filepath.Dir(bin))
	// A machine-wide service: every user may reach its socket.
	out := root.ok("/service", "/allusers")
	assert.Contains(t, out, "runs (pid ")
	fi, err := os.Stat(filepath.Join(root.store, "bitsemu.sock"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o666), fi.Mode().Perm())

	alice, bob := root.with(), root.with()
	alice.cred = &credential{Uid: aliceUID, Gid: 65534}
	bob.cred = &credential{Uid: bobUID, Gid: 65534}
	// What the environment claims counts for nothing.
	bob.env = append(bob.env, "BITSEMU_SID="+alice.sid(), "BITSEMU_ADMIN=1")

	aliceJob := alice.create("alice's")
	bob.create("bob's")
	assert.Equal(t, alice.sid()+"\n", alice.ok("/getowner", aliceJob))
	assert.True(t, strings.HasSuffix(alice.sid(), "-"+strconv.Itoa(1000+aliceUID)))

	jobs, _ := bob.list()
	require.Len(t, jobs, 1)
	assert.Equal(t, "bob's", jobs[0].Name)
	assert.Equal(t, bob.sid(), jobs[0].Owner)
	for _, args := range [][]string{
		{"/getstate", aliceJob}, {"/cancel", aliceJob}, {"/setdisplayname", aliceJob, "mine"},
		{"/takeownership", aliceJob}, {"/list", "/allusers"}, {"/reset", "/allusers"},
	} {
		r := bob.fails(1, args...)
		assert.Contains(t, r.stderr, "E_ACCESSDENIED (0x80070005)", "%q", args)
	}
	r := bob.fails(1, "/getstate", "alice's")
	assert.Contains(t, r.stderr, "BG_E_NOT_FOUND", "a user does not find another's job by name")
	r = bob.fails(1, "/shutdown")
	assert.Contains(t, r.stderr, "E_ACCESSDENIED", "a user cannot stop a service that is not theirs")
	assert.Equal(t, "alice's", alice.ok("/getdisplayname", aliceJob)[:7])

	// The notify command line runs as the job's owner.
	work := t.TempDir()
	openPath(t, work)
	require.NoError(t, os.Chmod(work, 0o777))
	src, mark := filepath.Join(work, "src"), filepath.Join(work, "who")
	require.NoError(t, os.WriteFile(src, []byte("data"), 0o644))
	alice.ok("/addfile", aliceJob, src, filepath.Join(work, "dst"))
	alice.ok("/setnotifycmdline", aliceJob, "/bin/sh", `sh -c "id -u > `+mark+`"`)
	alice.ok("/resume", aliceJob)
	deadline := time.Now().Add(time.Minute)
	for {
		if b, err := os.ReadFile(mark); err == nil && len(b) > 0 {
			assert.Equal(t, strconv.Itoa(aliceUID)+"\n", string(b))
			break
		}
		require.True(t, time.Now().Before(deadline), "the command line did not run")
		time.Sleep(20 * time.Millisecond)
	}

	// A job reads local sources with its owner's rights, not the root service's: bob's jobs
	// cannot copy a file only root may read, nor one in a directory bob cannot enter, and an
	// upload cannot send it either; root's own job can.
	rootOnly := filepath.Join(work, "root-only")
	require.NoError(t, os.WriteFile(rootOnly, []byte("root's secret"), 0o600))
	closed := filepath.Join(work, "closed")
	require.NoError(t, os.Mkdir(closed, 0o700))
	hidden := filepath.Join(closed, "open-file")
	require.NoError(t, os.WriteFile(hidden, []byte("in a closed directory"), 0o644))
	for _, src := range []string{rootOnly, hidden, "file://" + rootOnly} {
		id := bob.create("steal")
		bob.ok("/addfile", id, src, filepath.Join(work, "stolen"))
		bob.ok("/resume", id)
		r := bob.fails(exitNotTransferred, "/wait", id)
		assert.Equal(t, "ERROR\n", r.stdout, src)
		assert.Contains(t, r.stderr, "E_ACCESSDENIED (0x80070005)", src)
		bob.ok("/cancel", id)
		assert.NoFileExists(t, filepath.Join(work, "stolen"))
	}
	up := bob.create("/upload", "send")
	bob.ok("/addfile", up, "http://127.0.0.1:9/put", rootOnly)
	bob.ok("/resume", up)
	r = bob.fails(exitNotTransferred, "/wait", up)
	assert.Contains(t, r.stderr, "E_ACCESSDENIED (0x80070005)", "an upload of a file bob may not read")
	bob.ok("/cancel", up)
	mine := root.create("root's copy")
	root.ok("/addfile", mine, rootOnly, filepath.Join(work, "copy"))
	root.ok("/resume", mine)
	root.ok("/wait", mine)
	root.ok("/complete", mine)
	got, err := os.ReadFile(filepath.Join(work, "copy"))
	require.NoError(t, err)
	assert.Equal(t, "root's secret", string(got))

	// A job writes with its owner's rights too. Bob cannot name a local file in a directory only
	// root may write (AddFile: E_ACCESSDENIED), nor have the service replace a file of root's in
	// a sticky directory he may write (Complete: E_ACCESSDENIED, the file untouched); what he
	// downloads into a directory of his is his.
	rootDir := filepath.Join(work, "root-dir")
	require.NoError(t, os.Mkdir(rootDir, 0o755))
	id := bob.create("into root's directory")
	r = bob.fails(1, "/addfile", id, src, filepath.Join(rootDir, "planted"))
	assert.Contains(t, r.stderr, "E_ACCESSDENIED (0x80070005)", "a directory bob may not write")
	bob.ok("/cancel", id)
	assert.Empty(t, readDir(t, rootDir))

	sticky := filepath.Join(work, "sticky")
	require.NoError(t, os.Mkdir(sticky, 0o755))
	require.NoError(t, os.Chmod(sticky, 0o777|os.ModeSticky))
	victim := filepath.Join(sticky, "roots-file")
	require.NoError(t, os.WriteFile(victim, []byte("root's own"), 0o644))
	id = bob.create("over root's file")
	bob.ok("/addfile", id, src, victim)
	bob.ok("/resume", id)
	bob.ok("/wait", id)
	r = bob.fails(1, "/complete", id)
	assert.Contains(t, r.stderr, "E_ACCESSDENIED (0x80070005)", "a file of root's in a sticky directory")
	got, err = os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "root's own", string(got))
	bob.ok("/cancel", id)

	bobDir := filepath.Join(work, "bob")
	require.NoError(t, os.Mkdir(bobDir, 0o700))
	require.NoError(t, os.Chown(bobDir, bobUID, 65534))
	id = bob.create("bob's download")
	bob.ok("/addfile", id, src, filepath.Join(bobDir, "mine"))
	bob.ok("/resume", id)
	bob.ok("/wait", id)
	bob.ok("/complete", id)
	fi, err = os.Stat(filepath.Join(bobDir, "mine"))
	require.NoError(t, err)
	assert.Equal(t, uint32(bobUID), fi.Sys().(*syscall.Stat_t).Uid, "the file bob downloaded is bob's")

	// Root is an administrator: it lists everyone's jobs and takes one.
	all, _ := root.list("/allusers")
	assert.Len(t, all, 2)
	root.ok("/takeownership", aliceJob)
	assert.Equal(t, root.sid()+"\n", root.ok("/getowner", aliceJob))
	jobs, _ = alice.list()
	assert.Empty(t, jobs, "the job is root's now")
	assert.Contains(t, root.ok("/reset", "/allusers"), "2 out of 2 jobs canceled.")
}
