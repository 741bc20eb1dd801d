package manager_test

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pageCacheVisible reports that uncachedPages can tell.
const pageCacheVisible = true

// uncachedPages returns how many pages of the file name are not in the page cache (mincore):
// on a machine with memory to spare, the pages of a file just written through the cache are all
// there, and those written with direct I/O are not. A file that cannot be read counts 0.
func uncachedPages(name string) int {
	f, err := os.Open(name)
	if err != nil {
		return 0
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0
	}
	defer unix.Munmap(m)
	ps := os.Getpagesize()
	vec := make([]byte, (len(m)+ps-1)/ps)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(m))),
		uintptr(len(m)), uintptr(unsafe.Pointer(unsafe.SliceData(vec)))); errno != 0 {
		return 0
	}
	n := 0
	for _, v := range vec {
		n += int(^v & 1)
	}
	return n
}
