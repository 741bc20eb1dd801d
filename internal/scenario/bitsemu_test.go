package scenario_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/internal/scenario"
	"github.com/bitsemu/bitsemu/manager"
)

// TestScenariosOnBitsemu runs every scenario on bitsemu (an in-memory manager on the real
// clock, reached as an elevated administrator, as a program under wine is) and checks each
// observation against the result the scenario's documents give. With BITSEMU_SCENARIO_OUT set
// it also writes the report there, for the comparison with another backend.
func TestScenariosOnBitsemu(t *testing.T) {
	m := manager.New()
	t.Cleanup(func() { m.Close() })
	app, err := m.Connect(manager.Identity{SID: "S-1-5-21-1000", Admin: true})
	require.NoError(t, err)
	t.Cleanup(func() { app.Close() })

	all := scenario.All()
	rep, err := scenario.Run(app, all, scenario.Config{Backend: "bitsemu", Dir: t.TempDir(), Admin: true, Only: only()})
	require.NoError(t, err)
	if only() == nil {
		require.Len(t, rep.Scenarios, len(all))
	}
	for _, r := range rep.Scenarios {
		t.Run(r.Name, func(t *testing.T) {
			require.NotEmpty(t, r.Docs, "a scenario cites its documents")
			require.NotEmpty(t, r.Observations, "a scenario observes something")
			for _, o := range r.Observations {
				assert.Equal(t, o.Want, o.Got, "%s", o.Key)
			}
		})
	}
	if only() == nil {
		t.Run("departures", func(t *testing.T) { checkDepartures(t, rep) })
	}
	if out := os.Getenv("BITSEMU_SCENARIO_OUT"); out != "" {
		require.NoError(t, rep.WriteFile(out))
	}
}

// checkDepartures checks the table of known departures against bitsemu's run: one entry per
// scenario that exists, with a page and a description, whose every value differs from what
// bitsemu observed (or names an observation only the other backend makes).
func checkDepartures(t *testing.T, rep *scenario.Report) {
	obs := map[string]map[string]string{}
	for _, r := range rep.Scenarios {
		obs[r.Name] = map[string]string{}
		for _, o := range r.Observations {
			obs[r.Name][o.Key] = o.Got
		}
	}
	seen := map[string]bool{}
	for _, d := range scenario.Departures {
		assert.False(t, seen[d.Scenario], "%s: one entry per scenario", d.Scenario)
		seen[d.Scenario] = true
		assert.NotEmpty(t, d.Doc, d.Scenario)
		assert.NotEmpty(t, d.What, d.Scenario)
		assert.NotEmpty(t, d.Got, d.Scenario)
		got, ok := obs[d.Scenario]
		if !assert.True(t, ok, "%s: no such scenario", d.Scenario) {
			continue
		}
		for k, v := range d.Got {
			if b, made := got[k]; made {
				assert.NotEqual(t, b, v, "%s: %q: the departure gives bitsemu's own value", d.Scenario, k)
			} else {
				assert.NotEqual(t, scenario.Absent, v, "%s: %q: neither backend makes this observation", d.Scenario, k)
			}
		}
	}
}
