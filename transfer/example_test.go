package transfer_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/uptest"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/transfer"
)

// progressPrinter is an Observer that remembers the last progress report.
type progressPrinter struct{ last transfer.Progress }

func (p *progressPrinter) Connected() {}

func (p *progressPrinter) Progressed(pr transfer.Progress) error {
	p.last = pr
	return nil
}

func Example() {
	content := bytes.Repeat([]byte("bits"), 2500)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "file.bin", epoch, bytes.NewReader(content))
	}))
	defer srv.Close()

	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	dst, err := os.CreateTemp(dir, "BIT*.tmp")
	if err != nil {
		panic(err)
	}
	defer dst.Close()

	c := transfer.New(transfer.Config{})
	defer c.Close()
	obs := &progressPrinter{}
	spec := transfer.Spec{Remote: srv.URL + "/file.bin", Total: bits.SizeUnknown}
	if err := c.Fetch(context.Background(), spec, transfer.Options{}, dst, obs); err != nil {
		panic(err)
	}
	fmt.Printf("%d of %d bytes\n", obs.last.Transferred, obs.last.Total)
	// Output: 10000 of 10000 bytes
}

// sessionKeeper is an UploadObserver that keeps the upload's session and progress, as a manager
// keeps them with the job for the next attempt.
type sessionKeeper struct {
	progressPrinter
	session job.UploadSession
}

func (k *sessionKeeper) SessionChanged(s job.UploadSession) error {
	k.session = s
	return nil
}

// An upload with the BITS upload protocol to a BITS upload server (here a small test server);
// the session is closed once the server acknowledged every byte.
func ExampleClient_Upload() {
	srv := httptest.NewServer(&uptest.Server{})
	defer srv.Close()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	local := filepath.Join(dir, "report.csv")
	if err := os.WriteFile(local, bytes.Repeat([]byte("a,b,c\n"), 1000), 0o600); err != nil {
		panic(err)
	}

	c := transfer.New(transfer.Config{})
	defer c.Close()
	obs := &sessionKeeper{}
	spec := transfer.UploadSpec{Remote: srv.URL + "/reports/report.csv", Local: local}
	if err := c.Upload(context.Background(), spec, transfer.Options{}, obs); err != nil {
		panic(err)
	}
	fmt.Printf("%d of %d bytes acknowledged; session closed: %v\n", obs.last.Transferred, obs.last.Total, obs.session.CloseSent)
	// Output: 6000 of 6000 bytes acknowledged; session closed: true
}
