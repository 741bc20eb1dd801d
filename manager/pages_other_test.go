//go:build !linux

package manager_test

// pageCacheVisible reports that uncachedPages can tell: not on this system.
const pageCacheVisible = false

// uncachedPages returns 0: this system does not tell.
func uncachedPages(string) int { return 0 }
