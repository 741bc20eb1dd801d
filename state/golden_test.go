package state_test

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/state"
)

var update = flag.Bool("update", false, "rewrite testdata/state-matrix.golden and README's tables from the state package")

const (
	goldenPath  = "../testdata/state-matrix.golden"
	readmePath  = "../README.md"
	beginMarker = "<!-- state-matrix:begin -->\n"
	endMarker   = "<!-- state-matrix:end -->"
)

// TestRenderMatchesGolden fails when the tables in package state and their rendering in
// testdata/state-matrix.golden or README.md drift apart. Run `go test ./state -update` after
// changing the rules.
func TestRenderMatchesGolden(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, state.Render(&buf))
	got := buf.String()

	readme, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	start := strings.Index(string(readme), beginMarker)
	end := strings.Index(string(readme), endMarker)
	require.True(t, start >= 0 && end > start, "README.md must hold the state-matrix markers")
	inReadme := string(readme)[start+len(beginMarker) : end]

	if *update {
		require.NoError(t, os.WriteFile(goldenPath, []byte(got), 0o644))
		fresh := string(readme)[:start+len(beginMarker)] + got + string(readme)[end:]
		require.NoError(t, os.WriteFile(readmePath, []byte(fresh), 0o644))
		return
	}
	golden, err := os.ReadFile(goldenPath)
	require.NoError(t, err)
	assert.Equal(t, string(golden), got, "testdata/state-matrix.golden is stale: go test ./state -update")
	assert.Equal(t, got, inReadme, "README.md's state tables are stale: go test ./state -update")
}
