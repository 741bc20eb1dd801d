package transfer

import (
	"errors"
	"os"
	"testing"
)

// RefuseDirectIO makes every file system refuse direct I/O until the test ends, as one without
// O_DIRECT support does.
func RefuseDirectIO(t *testing.T) {
	setDirectFn = func(f *os.File, on bool) error {
		if on {
			return errors.New("refused by the test")
		}
		return setDirect(f, false)
	}
	t.Cleanup(func() { setDirectFn = setDirect })
}
