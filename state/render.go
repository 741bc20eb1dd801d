package state

import (
	"fmt"
	"io"
	"strings"

	"github.com/bitsemu/bitsemu/hresult"
)

// columnOrder is the order of the state columns in the rendered matrix: the life-cycle order.
var columnOrder = []State{Suspended, Queued, Connecting, Transferring, TransientError, Error, Transferred, Acknowledged, Cancelled}

// cell describes what rule r does in state s, listing conditional cases before the
// unconditional one that ends the search.
func (r *Rule) cell(s State) string {
	var parts []string
	for _, c := range r.Cases {
		if !c.From.Has(s) {
			continue
		}
		out := outcomeText(c, s)
		if c.When != 0 {
			parts = append(parts, c.When.String()+": "+out)
			continue
		}
		if len(parts) > 0 {
			out = "else " + out
		}
		parts = append(parts, out)
		break
	}
	return strings.Join(parts, "; ")
}

func outcomeText(c Case, from State) string {
	move := ""
	if c.To != Unchanged && c.To != from {
		move = "→ " + c.To.String()
	}
	switch {
	case c.Code == hresult.S_OK && move == "":
		return "ok"
	case c.Code == hresult.S_OK:
		return move
	case c.Code.Failed():
		return c.Code.Name()
	case move == "":
		return c.Code.Name()
	default:
		return c.Code.Name() + " " + move
	}
}

// Render writes the method/state matrix and the event table as Markdown. The output is
// deterministic; it is kept in testdata/state-matrix.golden and in README.md.
func Render(w io.Writer) error {
	var b strings.Builder
	b.WriteString("### Job methods by state\n\n")
	b.WriteString("Each cell is what the call does in that state: `ok` (allowed, state unchanged), `→ STATE` (allowed, the job moves), or the HRESULT it fails with. ")
	b.WriteString("Conditional lines are tried first; the first that holds decides. Methods with the same behaviour share a row.\n\n")
	b.WriteString("| Method |")
	for _, s := range columnOrder {
		b.WriteString(" " + s.String() + " |")
	}
	b.WriteString(" Source |\n|---|")
	for range columnOrder {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")

	type row struct {
		methods []string
		cells   []string
		note    string
		source  []string
	}
	var rows []*row
	byKey := map[string]*row{}
	for i := range methods {
		r := &methods[i]
		cells := make([]string, len(columnOrder))
		for j, s := range columnOrder {
			cells[j] = r.cell(s)
		}
		key := strings.Join(cells, "\x00") + "\x00" + r.Note
		if existing, ok := byKey[key]; ok {
			existing.methods = append(existing.methods, r.Method.String())
			existing.source = append(existing.source, r.Source)
			continue
		}
		nr := &row{methods: []string{r.Method.String()}, cells: cells, note: r.Note, source: []string{r.Source}}
		byKey[key] = nr
		rows = append(rows, nr)
	}
	for _, r := range rows {
		name := strings.Join(r.methods, ", ")
		if r.note != "" {
			name += " (" + r.note + ")"
		}
		fmt.Fprintf(&b, "| %s |", name)
		for _, c := range r.cells {
			fmt.Fprintf(&b, " %s |", c)
		}
		src := r.source[0]
		if len(r.source) > 1 {
			src = "the methods' own pages"
			for _, s := range r.source {
				if strings.Contains(s, "decision") {
					src += "; decision for some"
					break
				}
			}
		}
		fmt.Fprintf(&b, " %s |\n", src)
	}

	b.WriteString("\n### Engine events\n\n")
	b.WriteString("Lines are tried in order; an event in a state no line covers leaves the job where it is.\n\n")
	b.WriteString("| Event | From | Condition | To | Error count | Error recorded | Notification | Notes | Source |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range events {
		count := ""
		if t.CountsError {
			count = "+1"
		}
		code := ""
		if t.Code != 0 {
			code = t.Code.Name()
		}
		cond := ""
		if t.When != 0 {
			cond = t.When.String()
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			t.Event, t.From, cond, t.To, count, code, t.Notify, t.Note, t.Source)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
