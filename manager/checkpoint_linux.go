package manager

import (
	"os"

	"golang.org/x/sys/unix"
)

// finalSyncLater is set where a temporary file can be renamed and removed while open, so that
// its final sync can come after its job moved on (finalsync.go).
const finalSyncLater = true

// writeBack starts writing the n bytes of f from off to disk, without waiting for them.
func writeBack(f *os.File, off, n uint64) {
	_ = unix.SyncFileRange(int(f.Fd()), int64(off), int64(n), unix.SYNC_FILE_RANGE_WRITE)
}

// dataSync waits until the data of f (and what is needed to read it back) is on disk.
func dataSync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
