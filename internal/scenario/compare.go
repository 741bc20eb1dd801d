package scenario

import (
	"fmt"
	"slices"
	"strings"
)

// Absent stands in a comparison for an observation one backend never made (the scenario took
// another path there, or ended early).
const Absent = "(absent)"

// Departure is a known difference between another backend's BITS and Microsoft's
// documentation, shown by one scenario: for each observation that differs from bitsemu's, the
// value the other backend gives. A scenario whose every difference is listed in its departure
// "differs as listed"; any other difference fails the comparison.
type Departure struct {
	// Scenario is the scenario's name.
	Scenario string
	// Doc names the Microsoft page whose documented behaviour the other backend departs from.
	Doc string
	// What says in a few words what the other backend does instead.
	What string
	// Got maps each differing observation's key to the other backend's value (Absent when it
	// never made the observation).
	Got map[string]string
}

// Verdict is the outcome of comparing one scenario.
type Verdict int

// The verdicts.
const (
	Agree           Verdict = iota // every observation is the same
	DiffersAsListed                // every difference is one the scenario's departure lists
	Differs                        // a difference no departure lists
)

func (v Verdict) String() string {
	switch v {
	case Agree:
		return "agree"
	case DiffersAsListed:
		return "differs as listed"
	}
	return "differ"
}

// Diff is one observation that differs between the backends.
type Diff struct {
	Key, Base, Other string
}

// Outcome is the comparison of one scenario.
type Outcome struct {
	Scenario string
	Verdict  Verdict
	// First is the first difference (in the order bitsemu observed) that no departure lists,
	// or, for DiffersAsListed, the first difference.
	First Diff
	// Departure is the scenario's listed departure, if any.
	Departure *Departure
	// Stale lists the keys the departure gives that did not differ as given (the other backend
	// changed, or the scenario did): the table should be brought up to date.
	Stale []string
}

// Compare compares each scenario of base (bitsemu's report) with the same scenario of other,
// observation by observation (by key), accepting the differences deps lists. A scenario that
// only one report has differs.
func Compare(base, other *Report, deps []Departure) []Outcome {
	byName := map[string]Result{}
	for _, r := range other.Scenarios {
		byName[r.Name] = r
	}
	depBy := map[string]*Departure{}
	for i := range deps {
		depBy[deps[i].Scenario] = &deps[i]
	}
	var out []Outcome
	seen := map[string]bool{}
	for _, b := range base.Scenarios {
		seen[b.Name] = true
		o, ok := byName[b.Name]
		if !ok {
			out = append(out, Outcome{Scenario: b.Name, Verdict: Differs,
				First: Diff{Key: "(scenario)", Base: "ran", Other: Absent}})
			continue
		}
		out = append(out, compareOne(b, o, depBy[b.Name]))
	}
	for _, o := range other.Scenarios {
		if !seen[o.Name] {
			out = append(out, Outcome{Scenario: o.Name, Verdict: Differs,
				First: Diff{Key: "(scenario)", Base: Absent, Other: "ran"}})
		}
	}
	return out
}

func compareOne(base, other Result, dep *Departure) Outcome {
	res := Outcome{Scenario: base.Name, Departure: dep}
	diffs := differences(base.Observations, other.Observations)
	if len(diffs) == 0 {
		res.Verdict = Agree
		if dep != nil {
			res.Stale = sortedKeys(dep.Got)
		}
		return res
	}
	res.Verdict = DiffersAsListed
	res.First = diffs[0]
	matched := map[string]bool{}
	for _, d := range diffs {
		if dep != nil {
			if want, ok := dep.Got[d.Key]; ok && want == d.Other {
				matched[d.Key] = true
				continue
			}
		}
		res.Verdict = Differs
		res.First = d
		break
	}
	if dep != nil && res.Verdict == DiffersAsListed {
		for _, k := range sortedKeys(dep.Got) {
			if !matched[k] {
				res.Stale = append(res.Stale, k)
			}
		}
	}
	return res
}

// differences lists the keys whose values differ, in base's order and then other's.
func differences(base, other []Observation) []Diff {
	bv, ov := map[string]string{}, map[string]string{}
	for _, o := range base {
		bv[o.Key] = o.Got
	}
	for _, o := range other {
		ov[o.Key] = o.Got
	}
	var out []Diff
	add := func(k string) {
		b, ok := bv[k]
		if !ok {
			b = Absent
		}
		o, ok := ov[k]
		if !ok {
			o = Absent
		}
		if b != o {
			out = append(out, Diff{Key: k, Base: b, Other: o})
		}
	}
	for _, o := range base {
		add(o.Key)
	}
	for _, o := range other {
		if _, ok := bv[o.Key]; !ok {
			add(o.Key)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Summary formats the outcomes as a report: one line per scenario, then the counts. It reports
// whether every scenario agreed or differed only as listed.
func Summary(outs []Outcome, otherName string) (string, bool) {
	var b strings.Builder
	counts := map[Verdict]int{}
	w := 0
	for _, o := range outs {
		w = max(w, len(o.Scenario))
	}
	for _, o := range outs {
		counts[o.Verdict]++
		fmt.Fprintf(&b, "%-*s  ", w, o.Scenario)
		switch o.Verdict {
		case Agree:
			b.WriteString("agree")
		case DiffersAsListed:
			fmt.Fprintf(&b, "differs as listed (%s departure: %s; %s)", otherName, o.Departure.What, o.Departure.Doc)
		case Differs:
			fmt.Fprintf(&b, "differ: %q: bitsemu %q, %s %q", o.First.Key, o.First.Base, otherName, o.First.Other)
		}
		if len(o.Stale) > 0 {
			fmt.Fprintf(&b, " [departure entry out of date for: %s]", strings.Join(o.Stale, "; "))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "\n%d scenarios: %d agree, %d differ as listed, %d differ\n",
		len(outs), counts[Agree], counts[DiffersAsListed], counts[Differs])
	return b.String(), counts[Differs] == 0
}

// DepartureTable formats Departures: per entry, the scenario, the page and what the other
// backend does.
func DepartureTable(otherName string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Known departures of %s from Microsoft's documentation (%d):\n", otherName, len(Departures))
	for _, d := range Departures {
		fmt.Fprintf(&b, "- %s: %s [%s]\n", d.Scenario, d.What, d.Doc)
	}
	return b.String()
}
