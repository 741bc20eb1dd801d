//go:build windows

package bits_test

import (
	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/winbits"
)

// openBackend connects to the system's BITS.
func openBackend() (bits.Manager, error) {
	m, err := winbits.New()
	if err != nil {
		return nil, err
	}
	return m, nil
}
