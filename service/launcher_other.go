//go:build !unix

package service

import "github.com/bitsemu/bitsemu/notify"

func launcher(Machine) notify.Launcher { return nil }
