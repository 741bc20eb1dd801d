package bitstest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/bitsemu/bitsemu/internal/childproc"
)

// TestMain fails the package's tests if any goroutine is left running after them: servers,
// transfers, timers and notification workers must all end when they are closed. The test binary
// doubles as a notify command-line program (childproc).
func TestMain(m *testing.M) {
	childproc.Main()
	goleak.VerifyTestMain(m)
}
