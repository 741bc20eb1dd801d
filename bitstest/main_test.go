package bitstest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is left running after them: servers,
// transfers, timers and notification workers must all end when they are closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
