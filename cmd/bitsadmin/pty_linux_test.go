package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bitsemu/bitsemu/bitstest"
)

// openPTY opens a pseudo-terminal cols columns wide: its master and its slave.
func openPTY(t *testing.T, cols, rows uint16) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	require.NoError(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	require.NoError(t, err)
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { slave.Close() })
	require.NoError(t, unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}))
	return master, slave
}

// runOnPTY runs bitsadmin with its standard output on a terminal cols columns wide and returns
// what the terminal received.
func runOnPTY(t *testing.T, u *user, cols, rows uint16, args ...string) (string, int) {
	t.Helper()
	master, slave := openPTY(t, cols, rows)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := u.with("TERM=xterm").command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = slave, &stderr
	require.NoError(t, cmd.Start())
	read := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(master) // EIO once the last slave descriptor closes
		read <- b
	}()
	err := cmd.Wait()
	slave.Close()
	out := string(<-read)
	code := 0
	if err != nil {
		code = cmd.ProcessState.ExitCode()
	}
	require.NotEqual(t, -1, code, "stderr: %s", stderr.String())
	return out, code
}

var csiRE = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// screenLines are the pieces of terminal output between carriage returns and newlines, without
// escape sequences: each is at most what one redraw puts on a row.
func screenLines(out string) []string {
	return strings.FieldsFunc(csiRE.ReplaceAllString(out, ""), func(r rune) bool { return r == '\r' || r == '\n' })
}

// On a terminal, /TRANSFER redraws one progress line that fits the terminal: carriage returns
// and erase-to-end-of-line, never a line wider than the terminal less one column, and no new
// line per redraw.
func TestTransferProgressOnTerminal(t *testing.T) {
	t.Parallel()
	data := content(3<<20, 41)
	srv := bitstest.NewServer(map[string][]byte{"big.bin": data})
	defer srv.Close()
	u := newUser(t)
	local := filepath.Join(t.TempDir(), "big.bin")
	const cols = 60
	out, code := runOnPTY(t, u, cols, 24, "/transfer", "tty", srv.URLFor("big.bin"), local)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "\x1b[K", "the line is redrawn in place")
	assert.Contains(t, out, "Transfer complete.")
	redraws := strings.Count(out, "\x1b[K")
	for _, l := range screenLines(out) {
		if strings.HasPrefix(l, "  http") || strings.HasPrefix(l, "Transferring job") {
			continue // the names printed after the transfer, and the header, are the job's own text
		}
		assert.LessOrEqual(t, utf8.RuneCountInString(l), cols-1, "a row wider than the terminal: %q", l)
	}
	// The header (2 lines), the finished progress line, "Transfer complete." and one file: no
	// line feed per redraw.
	assert.LessOrEqual(t, strings.Count(out, "\n"), 5, "%d redraws:\n%q", redraws, out)
	got, err := os.ReadFile(local)
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

// On a terminal, /MONITOR redraws the screen from its top left, each row cut to the width.
func TestMonitorOnTerminal(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	u.create(strings.Repeat("a long display name ", 5))
	const cols = 50
	out, code := runOnPTY(t, u, cols, 10, "/monitor", "/count", "2", "/refresh", "0.05")
	require.Equal(t, 0, code, out)
	assert.Equal(t, 2, strings.Count(out, "\x1b[H"), "one redraw from the top per refresh")
	assert.Equal(t, 2, strings.Count(out, "\x1b[J"))
	assert.NotContains(t, out, "\x1b[2J", "the screen is overwritten, not cleared (no flicker)")
	lines := screenLines(out)
	require.NotEmpty(t, lines)
	for _, l := range lines {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), cols-1, "a row wider than the terminal: %q", l)
	}
	assert.Contains(t, out, "Listed 1 job(s).")
}

// /NOWRAP cuts every line at the terminal's edge; by default (and with /WRAP) the terminal wraps
// them, and /MONITOR /WRAP leaves its rows whole.
func TestNoWrapOnTerminal(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	name := strings.Repeat("a long display name ", 5)
	u.create(name)
	const cols = 50
	out, code := runOnPTY(t, u, cols, 24, "/list")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, name, "bitsadmin wraps by default")
	out, code = runOnPTY(t, u, cols, 24, "/nowrap", "/list")
	require.Equal(t, 0, code, out)
	assert.NotContains(t, out, name)
	for _, l := range screenLines(out) {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), cols-1, "a row wider than the terminal: %q", l)
	}
	assert.Contains(t, out, "Listed 1 job(s).")
	out, code = runOnPTY(t, u, cols, 24, "/wrap", "/monitor", "/count", "1")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, name)
}
