package childproc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Build compiles the main package pkg (a directory or import path, "." for the package under
// test) into a new temporary directory, with the race detector when the test binary has it, so
// that a command's tests run the real program. It returns the executable's path and a function
// that removes it. It needs the go tool.
func Build(pkg, name string) (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", name+"-test-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, name)
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("building %s needs the go tool: %w", pkg, err)
	}
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command(gotool, append(args, pkg)...).CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, cleanup, nil
}

// BuildAndRun builds the main package of the working directory as name (see Build), stores the
// executable's path in *bin, runs the tests and removes the executable: a command's TestMain is
// os.Exit(childproc.BuildAndRun(m, "name", &bin)). It returns the tests' exit code, or 1 when
// the build fails.
func BuildAndRun(m *testing.M, name string, bin *string) int {
	path, cleanup, err := Build(".", name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	*bin = path
	return m.Run()
}
