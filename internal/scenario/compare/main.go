// Command compare sets the scenario report of another BITS backend (Wine's, Windows's) against
// bitsemu's and prints, per scenario, whether the two agree, differ only as the table of known
// departures lists (scenario.Departures), or differ otherwise, with the first differing
// observation; then the table of departures itself. It exits 1 when any scenario differs in a
// way the table does not list, 2 when a report cannot be read.
//
// Usage:
//
//	go run ./internal/scenario/compare bitsemu.json other.json
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/bitsemu/bitsemu/internal/scenario"
)

func main() {
	quiet := flag.Bool("q", false, "leave out the table of departures")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: compare [-q] bitsemu.json other.json")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	base, err := scenario.ReadReport(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	other, err := scenario.ReadReport(flag.Arg(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	name := other.Backend
	if name == "" {
		name = "other"
	}
	name = strings.ToUpper(name[:1]) + name[1:]
	outs := scenario.Compare(base, other, scenario.Departures)
	text, ok := scenario.Summary(outs, name)
	fmt.Printf("bitsemu (%d ms) against %s (%d ms)\n\n", base.Millis, name, other.Millis)
	fmt.Print(text)
	if !*quiet {
		fmt.Print("\n" + scenario.DepartureTable(name))
	}
	if !ok {
		os.Exit(1)
	}
}
