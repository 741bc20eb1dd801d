//go:build !race

package childproc

// raceEnabled says the test binary runs with the race detector, so the programs Build makes
// get it too.
const raceEnabled = false
