//go:build !unix

package client

import "time"

func lockWait(string, time.Time) (func(), error) { return nil, errNotStarted }

func spawn(string, []string) (<-chan error, error) { return nil, errNotStarted }
