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
	rep, err := scenario.Run(app, all, scenario.Config{Backend: "bitsemu", Dir: t.TempDir(), Admin: true})
	require.NoError(t, err)
	require.Len(t, rep.Scenarios, len(all))
	for _, r := range rep.Scenarios {
		t.Run(r.Name, func(t *testing.T) {
			require.NotEmpty(t, r.Docs, "a scenario cites its documents")
			require.NotEmpty(t, r.Observations, "a scenario observes something")
			for _, o := range r.Observations {
				assert.Equal(t, o.Want, o.Got, "%s", o.Key)
			}
		})
	}
	if out := os.Getenv("BITSEMU_SCENARIO_OUT"); out != "" {
		require.NoError(t, rep.WriteFile(out))
	}
}
