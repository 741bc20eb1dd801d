package scenario_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/internal/scenario"
)

func report(backend string, scenarios ...scenario.Result) *scenario.Report {
	return &scenario.Report{Backend: backend, Scenarios: scenarios}
}

func result(name string, kv ...string) scenario.Result {
	r := scenario.Result{Name: name}
	for i := 0; i < len(kv); i += 2 {
		r.Observations = append(r.Observations, scenario.Observation{Key: kv[i], Got: kv[i+1]})
	}
	return r
}

func TestCompare(t *testing.T) {
	base := report("bitsemu",
		result("same", "Resume", "S_OK", "state", "QUEUED"),
		result("listed", "Suspend", "S_OK", "state", "SUSPENDED"),
		result("unlisted", "Cancel", "S_OK", "state", "CANCELLED"),
		result("listed-but-more", "GetPriority", "S_OK", "priority", "NORMAL"),
		result("stale", "GetOwner", "S_OK"),
		result("only-in-base", "x", "1"),
	)
	other := report("wine",
		result("same", "Resume", "S_OK", "state", "QUEUED"),
		result("listed", "Suspend", "E_NOTIMPL", "state", "TRANSFERRING"),
		result("unlisted", "Cancel", "S_OK", "state", "ACKNOWLEDGED"),
		result("listed-but-more", "GetPriority", "E_NOTIMPL", "extra", "1"),
		result("stale", "GetOwner", "S_OK"),
		result("only-in-other", "y", "2"),
	)
	deps := []scenario.Departure{
		{Scenario: "listed", Doc: "IBackgroundCopyJob::Suspend", What: "no Suspend",
			Got: map[string]string{"Suspend": "E_NOTIMPL", "state": "TRANSFERRING"}},
		{Scenario: "listed-but-more", Doc: "IBackgroundCopyJob::GetPriority", What: "no GetPriority",
			Got: map[string]string{"GetPriority": "E_NOTIMPL", "priority": scenario.Absent}},
		{Scenario: "stale", Doc: "IBackgroundCopyJob::GetOwner", What: "no GetOwner",
			Got: map[string]string{"GetOwner": "E_NOTIMPL"}},
	}
	outs := scenario.Compare(base, other, deps)
	got := map[string]scenario.Outcome{}
	for _, o := range outs {
		got[o.Scenario] = o
	}
	require.Len(t, outs, 7)

	assert.Equal(t, scenario.Agree, got["same"].Verdict)
	assert.Equal(t, scenario.DiffersAsListed, got["listed"].Verdict)
	assert.Equal(t, scenario.Diff{Key: "Suspend", Base: "S_OK", Other: "E_NOTIMPL"}, got["listed"].First)
	assert.Empty(t, got["listed"].Stale)

	assert.Equal(t, scenario.Differs, got["unlisted"].Verdict)
	assert.Equal(t, scenario.Diff{Key: "state", Base: "CANCELLED", Other: "ACKNOWLEDGED"}, got["unlisted"].First)

	// An observation only the other backend made is a difference too, and not a listed one.
	assert.Equal(t, scenario.Differs, got["listed-but-more"].Verdict)
	assert.Equal(t, scenario.Diff{Key: "extra", Base: scenario.Absent, Other: "1"}, got["listed-but-more"].First)

	// A departure that no longer shows is reported, and the scenario agrees.
	assert.Equal(t, scenario.Agree, got["stale"].Verdict)
	assert.Equal(t, []string{"GetOwner"}, got["stale"].Stale)

	assert.Equal(t, scenario.Differs, got["only-in-base"].Verdict)
	assert.Equal(t, scenario.Differs, got["only-in-other"].Verdict)

	text, ok := scenario.Summary(outs, "Wine")
	assert.False(t, ok)
	assert.Contains(t, text, "differs as listed (Wine departure: no Suspend; IBackgroundCopyJob::Suspend)")
	assert.Contains(t, text, `differ: "state": bitsemu "CANCELLED", Wine "ACKNOWLEDGED"`)
	assert.Contains(t, text, "7 scenarios: 2 agree, 1 differ as listed, 4 differ")

	// A listed departure whose value differs from the one seen is not accepted.
	deps[0].Got["state"] = "QUEUED"
	outs = scenario.Compare(base, other, deps)
	assert.Equal(t, scenario.Differs, outs[1].Verdict)
	assert.Equal(t, "state", outs[1].First.Key)

	_, ok = scenario.Summary(scenario.Compare(base, base, nil), "bitsemu")
	assert.True(t, ok)
}

// TestReadmeCount keeps README's count of the scenarios true.
func TestReadmeCount(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	assert.Contains(t, strings.Join(strings.Fields(string(b)), " "),
		fmt.Sprintf("`internal/scenario` holds %d differential scenarios", len(scenario.All())))
}
