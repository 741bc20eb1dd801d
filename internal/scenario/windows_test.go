//go:build windows

package scenario_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/windows"

	"github.com/bitsemu/bitsemu/internal/scenario"
	"github.com/bitsemu/bitsemu/winbits"
)

// TestScenariosOnWindows runs every scenario on the system's BITS through winbits (on Linux:
// Wine's BITS, with the test binary cross-compiled and run under wine) and writes the report to
// BITSEMU_SCENARIO_OUT. It does not judge the observations: the comparison with bitsemu's report
// does (internal/scenario/compare). BITSEMU_SCENARIO_DIR names the directory the jobs' files go
// to; a Linux path (/tmp/x) is taken as Wine's drive Z: sees it (Z:\tmp\x).
func TestScenariosOnWindows(t *testing.T) {
	m, err := winbits.New()
	if err != nil {
		t.Skipf("BITS is not reachable: %v", err)
	}
	t.Cleanup(func() { m.Close() })

	// Not t.TempDir: Wine may fail to remove a directory a test used, and that must not fail the
	// run; the removal here is best effort.
	root := os.TempDir()
	if d := os.Getenv("BITSEMU_SCENARIO_DIR"); d != "" {
		root = scenario.WinePath(d)
		require.NoError(t, os.MkdirAll(root, 0o755))
	}
	dir, err := os.MkdirTemp(root, "scenarios-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	backend := "windows"
	if windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil {
		backend = "wine"
	}
	rep, err := scenario.Run(m, scenario.All(), scenario.Config{
		Backend: backend,
		Dir:     dir,
		Admin:   windows.GetCurrentProcessToken().IsElevated(),
		Only:    only(),
	})
	require.NoError(t, err)
	t.Logf("%s: %d scenarios in %d ms", backend, len(rep.Scenarios), rep.Millis)
	if out := os.Getenv("BITSEMU_SCENARIO_OUT"); out != "" {
		require.NoError(t, rep.WriteFile(scenario.WinePath(out)))
	}
}
