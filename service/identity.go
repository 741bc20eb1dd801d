package service

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// The relative ids (RIDs) the identity mapping uses.
const (
	// AdministratorRID is the last sub-authority of root's SID: 500, Windows's built-in
	// Administrator account.
	AdministratorRID = 500
	// UserRIDBase is added to a uid to make the last sub-authority of a user's SID, so that
	// users' RIDs start at 1000 as on Windows.
	UserRIDBase = 1000
)

// Machine is the machine part of the SIDs a service gives its callers: "S-1-5-21-a-b-c", three
// random 32-bit sub-authorities as Windows gives each installation. A service keeps it in its
// store's directory (machine.sid), made on the first start, so that the owners recorded in the
// store mean the same users after every restart.
type Machine string

// Identity maps a uid taken from the kernel to the caller's BITS identity: root (uid 0) is
// <machine>-500, an elevated administrator; uid n is <machine>-(1000+n), a user.
func (m Machine) Identity(uid int) manager.Identity {
	if uid == 0 {
		return manager.Identity{SID: fmt.Sprintf("%s-%d", m, AdministratorRID), Admin: true}
	}
	return manager.Identity{SID: fmt.Sprintf("%s-%d", m, UserRIDBase+uint64(uid))}
}

// UID maps a SID back to the uid Identity made it from; ok is false for a SID of another machine
// or one that no uid maps to.
func (m Machine) UID(sid string) (uid int, ok bool) {
	rest, found := strings.CutPrefix(sid, string(m)+"-")
	if !found {
		return 0, false
	}
	rid, err := strconv.ParseUint(rest, 10, 32)
	switch {
	case err != nil:
		return 0, false
	case rid == AdministratorRID:
		return 0, true
	case rid > UserRIDBase:
		return int(rid - UserRIDBase), true
	}
	return 0, false
}

var machineRE = regexp.MustCompile(`^S-1-5-21-[0-9]{1,10}-[0-9]{1,10}-[0-9]{1,10}$`)

// LoadMachine reads the machine part of the SIDs from the store directory dir, making it (at
// random) when the file does not exist yet.
func LoadMachine(dir string) (Machine, error) {
	path := filepath.Join(dir, wire.MachineSIDName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		s := strings.TrimSpace(string(b))
		if !machineRE.MatchString(s) {
			return "", fmt.Errorf("%s: %q is not a machine SID (S-1-5-21-a-b-c)", path, s)
		}
		return Machine(s), nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	m := Machine(fmt.Sprintf("S-1-5-21-%d-%d-%d", binary.LittleEndian.Uint32(r[0:]),
		binary.LittleEndian.Uint32(r[4:]), binary.LittleEndian.Uint32(r[8:])))
	if err := writeFileAtomic(path, []byte(string(m)+"\n")); err != nil {
		return "", err
	}
	return m, nil
}

// writeFileAtomic writes a small file under a temporary name and renames it into place, so that
// a reader sees the old contents or the new, never part.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
