package wine_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/internal/wine"
)

var update = flag.Bool("update", false, "rewrite the table in winbits/WINE.md from Departures")

const (
	mdPath = "../../winbits/WINE.md"
	begin  = "<!-- departures:begin -->\n"
	end    = "<!-- departures:end -->\n"
)

// render is the Markdown table of the departures.
func render() string {
	var b strings.Builder
	b.WriteString("| ID | Method | Call | Documented | Page | Wine 8.0 |\n")
	b.WriteString("|----|--------|------|------------|------|----------|\n")
	for _, d := range wine.Departures {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", d.ID, d.Method, d.Case, d.Documented, d.Page, d.Observed)
	}
	return b.String()
}

// TestWineMDIsTheTable keeps winbits/WINE.md's table the rendering of Departures. Run
// `go test ./internal/wine -update` after changing them.
func TestWineMDIsTheTable(t *testing.T) {
	raw, err := os.ReadFile(mdPath)
	require.NoError(t, err)
	md := string(raw)
	i, j := strings.Index(md, begin), strings.Index(md, end)
	require.True(t, i >= 0 && j > i, "WINE.md lacks the departures markers")
	got := render()
	if *update {
		md = md[:i+len(begin)] + got + md[j:]
		require.NoError(t, os.WriteFile(mdPath, []byte(md), 0o644))
		return
	}
	assert.Equal(t, got, md[i+len(begin):j], "winbits/WINE.md is stale: go test ./internal/wine -update")
}

func TestDeparturesAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range wine.Departures {
		assert.False(t, seen[d.ID], "ID %q twice", d.ID)
		seen[d.ID] = true
		for name, v := range map[string]string{"Method": d.Method, "Case": d.Case, "Documented": d.Documented, "Page": d.Page, "Observed": d.Observed} {
			assert.NotEmpty(t, v, "%s of %s", name, d.ID)
			assert.NotContains(t, v, "|", "%s of %s would break the table", name, d.ID)
		}
		got, ok := wine.Lookup(d.ID)
		assert.True(t, ok)
		assert.Equal(t, d, got)
	}
	_, ok := wine.Lookup("NoSuchMethod")
	assert.False(t, ok)
}

// TestEveryDepartureIsExercised keeps the table honest: each record is named by the winbits
// tests, which check it under Wine.
func TestEveryDepartureIsExercised(t *testing.T) {
	files, err := filepath.Glob("../../winbits/*_windows_test.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var src strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		src.Write(b)
	}
	for _, d := range wine.Departures {
		assert.Contains(t, src.String(), `"`+d.ID+`"`, "no winbits test checks %s", d.ID)
	}
}
