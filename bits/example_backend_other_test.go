//go:build !windows

package bits_test

import (
	"errors"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/manager"
)

// openBackend connects an application to a new bitsemu manager; Close closes both.
func openBackend() (bits.Manager, error) {
	m := manager.New()
	app, err := m.Connect(manager.Identity{SID: "S-1-5-21-1000"})
	if err != nil {
		m.Close()
		return nil, err
	}
	return closeBoth{app, m}, nil
}

// closeBoth is the application's connection, whose Close also closes the manager.
type closeBoth struct {
	*manager.Client
	m *manager.Manager
}

func (c closeBoth) Close() error { return errors.Join(c.Client.Close(), c.m.Close()) }
