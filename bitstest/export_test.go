package bitstest

import "io"

// SetCloseReport sends the reports of Server.Close to w, and returns a function that restores
// the previous destination.
func SetCloseReport(w io.Writer) (restore func()) {
	old := closeReport
	closeReport = w
	return func() { closeReport = old }
}
