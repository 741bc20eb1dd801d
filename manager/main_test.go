package manager_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is left running after them: transfers,
// timers and notification workers must all end when their manager closes.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
