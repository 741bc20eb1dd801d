package scenario_test

import (
	"os"
	"strings"
)

// only returns the scenario names BITSEMU_SCENARIO_ONLY lists (comma-separated), to run a few
// scenarios while working on them; none means all.
func only() []string {
	if s := os.Getenv("BITSEMU_SCENARIO_ONLY"); s != "" {
		return strings.Split(s, ",")
	}
	return nil
}
