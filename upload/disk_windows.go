package upload

import (
	"errors"
	"syscall"
)

// Windows error numbers the handler tells apart.
const (
	errorHandleDiskFull  syscall.Errno = 39   // ERROR_HANDLE_DISK_FULL
	errorDiskFull        syscall.Errno = 112  // ERROR_DISK_FULL
	errorNotSupported    syscall.Errno = 50   // ERROR_NOT_SUPPORTED
	errorInvalidFunction syscall.Errno = 1    // ERROR_INVALID_FUNCTION
	errorTooManyLinks    syscall.Errno = 1142 // ERROR_TOO_MANY_LINKS
)

// isDiskFull reports whether err says the disk is full.
func isDiskFull(err error) bool {
	return errors.Is(err, errorDiskFull) || errors.Is(err, errorHandleDiskFull)
}

// linkUnsupported reports whether err says the file system cannot make hard links (FAT, some
// network shares).
func linkUnsupported(err error) bool {
	return errors.Is(err, errorNotSupported) || errors.Is(err, errorInvalidFunction) ||
		errors.Is(err, errorTooManyLinks)
}
