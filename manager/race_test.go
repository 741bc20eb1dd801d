//go:build race

package manager_test

// raceEnabled: the race detector makes the crash test's child processes several times slower to
// start and run; it kills fewer of them then (crashKills).
const raceEnabled = true
