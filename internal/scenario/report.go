package scenario

import (
	"encoding/json"
	"os"
	"strings"
)

// WriteFile writes the report as indented JSON to path.
func (r *Report) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadReport reads a report written by WriteFile.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// WinePath returns the name under which a Windows program running under Wine sees the Linux
// path p: Wine maps drive Z: to the Linux root, so /tmp/x is Z:\tmp\x. Other paths (already
// Windows paths) are returned unchanged.
func WinePath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return p
	}
	return `Z:` + strings.ReplaceAll(p, "/", `\`)
}
