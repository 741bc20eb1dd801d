package manager_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is left running after them: transfers,
// timers and notification workers must all end when their manager closes.
// With BITSEMU_CRASH_DIR set, the binary is the crash test's child instead.
func TestMain(m *testing.M) {
	if os.Getenv("BITSEMU_CRASH_DIR") != "" {
		crashChild()
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		for _, dir := range reopenStores {
			_ = os.RemoveAll(dir)
		}
		os.Exit(code)
	}))
}
