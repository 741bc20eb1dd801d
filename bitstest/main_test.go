package bitstest_test

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

// The test binary doubles as a notify command-line program: with BITSTEST_CHILD_OUT set it
// appends its os.Args, as one JSON line, to the file that variable names and exits with the code
// in BITSTEST_CHILD_EXIT.
const (
	envChildOut  = "BITSTEST_CHILD_OUT"
	envChildExit = "BITSTEST_CHILD_EXIT"
)

// TestMain fails the package's tests if any goroutine is left running after them: servers,
// transfers, timers and notification workers must all end when they are closed.
func TestMain(m *testing.M) {
	if out := os.Getenv(envChildOut); out != "" {
		os.Exit(childMain(out))
	}
	goleak.VerifyTestMain(m)
}

func childMain(out string) int {
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
	code, err := strconv.Atoi(os.Getenv(envChildExit))
	if err != nil {
		return 104
	}
	return code
}
