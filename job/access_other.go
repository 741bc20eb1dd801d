//go:build !unix

package job

// writable reports whether the process may create files in dir. Off Unix the check is left to
// the moment the temporary file is created.
func writable(string) bool { return true }
