//go:build !linux

package transfer

import (
	"errors"
	"os"
)

// directIO reports that the system has direct I/O: this one is not known to (macOS's F_NOCACHE
// and Windows' FILE_FLAG_NO_BUFFERING are not used).
const directIO = false

// setDirect fails: see directIO.
func setDirect(*os.File, bool) error { return errors.ErrUnsupported }
