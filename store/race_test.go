//go:build race

package store_test

// raceEnabled: the race detector makes every Open several times slower; the byte-damage test
// damages every third byte then.
const raceEnabled = true
