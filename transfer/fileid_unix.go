//go:build unix

package transfer

import (
	"os"
	"strconv"
	"syscall"
)

// fileIdentity names the file fi describes on its machine: its device and inode, or "" when the
// system does not tell.
func fileIdentity(_ *os.File, fi os.FileInfo) string {
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return strconv.FormatUint(uint64(sys.Dev), 10) + ":" + strconv.FormatUint(uint64(sys.Ino), 10)
}
