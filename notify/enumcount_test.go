package notify_test

import "github.com/bitsemu/bitsemu/bits"

// enumCount returns e's GetCount, which never fails for bitsemu's enumerators.
func enumCount[T any](e bits.Enum[T]) uint32 {
	n, err := e.GetCount()
	if err != nil {
		panic(err)
	}
	return n
}
