package transfer

import (
	"os"
	"strconv"
	"syscall"
)

// fileIdentity names the file f is open on: its volume serial number and file index, or "" when
// the system does not tell.
func fileIdentity(f *os.File, _ os.FileInfo) string {
	var d syscall.ByHandleFileInformation
	if err := syscall.GetFileInformationByHandle(syscall.Handle(f.Fd()), &d); err != nil {
		return ""
	}
	return strconv.FormatUint(uint64(d.VolumeSerialNumber), 10) + ":" +
		strconv.FormatUint(uint64(d.FileIndexHigh)<<32|uint64(d.FileIndexLow), 10)
}
