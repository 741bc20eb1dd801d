package transfer_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/bitsemu/bitsemu/bits"
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
