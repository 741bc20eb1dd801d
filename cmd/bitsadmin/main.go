package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run executes one bitsadmin command line (without the program name) and returns the exit
// status: 0 for success, 1 for a BITS failure, 2 for a usage error, 3 for a job that did not
// transfer, 4 for a service that could not be reached (see the exit* constants). env reads the environment (os.Getenv in the program; tests pass their own). Ctrl-C and
// SIGTERM stop the verbs that wait (/transfer, /wait, /monitor, /demo).
func run(args []string, stdout, stderr io.Writer, env func(string) string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{ctx: ctx, stdout: stdout, stderr: stderr, env: env}
	return c.main(args)
}
