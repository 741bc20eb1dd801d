package job_test

import (
	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// enumCount returns e's GetCount, which never fails for bitsemu's enumerators.
func enumCount[T any](e bits.Enum[T]) uint32 {
	n, err := e.GetCount()
	if err != nil {
		panic(err)
	}
	return n
}

// enumSkip returns e's Skip code, which never fails for bitsemu's enumerators.
func enumSkip[T any](e bits.Enum[T], n uint32) hresult.Code {
	code, err := e.Skip(n)
	if err != nil {
		panic(err)
	}
	return code
}
