// Package childproc lets a test binary double as the program a notify command line starts, so
// that tests run a real process and see exactly the arguments it was given. A package's TestMain
// calls Main first; a test calls Start to get the program's path and the record of its runs.
// Build compiles a command for its tests to run as a real process.
//
// It is test support for bitsemu's own packages: it imports package testing.
package childproc

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The environment of a child run: where it records its arguments, and the code it exits with.
const (
	envOut  = "BITSEMU_CHILD_OUT"
	envExit = "BITSEMU_CHILD_EXIT"
)

// Main makes the process a child run when Start set it up: it appends os.Args, as one JSON
// line, to the record and exits with the code set; otherwise it returns at once. Call it first
// in TestMain.
func Main() {
	out := os.Getenv(envOut)
	if out == "" {
		return
	}
	os.Exit(run(out))
}

func run(out string) int {
	b, err := json.Marshal(os.Args)
	if err != nil {
		return 100
	}
	f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return 101
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return 102
	}
	if err := f.Close(); err != nil {
		return 103
	}
	code, err := strconv.Atoi(os.Getenv(envExit))
	if err != nil {
		return 104
	}
	return code
}

// Start makes the test binary the program of this test's command lines: it returns the
// program's absolute path and a function that lists the argument vectors of its runs so far.
// Each run exits with exit; SetExit changes it. The environment is restored when the test ends.
func Start(t testing.TB, exit int) (prog string, runs func() [][]string) {
	t.Helper()
	prog, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "runs.jsonl")
	t.Setenv(envOut, out)
	// A race-enabled child would otherwise sleep a second before it exits.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	SetExit(t, exit)
	return prog, func() [][]string {
		t.Helper()
		f, err := os.Open(out)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var all [][]string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var args []string
			if err := json.Unmarshal(sc.Bytes(), &args); err != nil {
				t.Fatalf("childproc: a run's record: %v", err)
			}
			all = append(all, args)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		return all
	}
}

// SetExit sets the code the runs exit with from now on.
func SetExit(t testing.TB, exit int) { t.Setenv(envExit, strconv.Itoa(exit)) }
