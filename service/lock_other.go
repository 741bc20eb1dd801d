//go:build !unix

package service

import (
	"errors"
	"os"
)

func tryLock(string) (*os.File, bool, error) {
	return nil, false, errors.New("service: the bitsemu service runs on Linux and macOS")
}
