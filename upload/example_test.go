package upload_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/bitsemu/bitsemu/upload"
)

// A Handler receives files into a directory. Here a client speaks the BITS upload protocol to
// it by hand: Create-Session, two fragments, Close-Session.
func ExampleHandler() {
	dir, err := os.MkdirTemp("", "uploads")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	h, err := upload.New(dir, upload.Options{MaxUploadSize: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()
	ts := httptest.NewServer(h)
	defer ts.Close()

	post := func(packet, body string, header ...string) *http.Response {
		req, _ := http.NewRequest("BITS_POST", ts.URL+"/hello.txt", strings.NewReader(body))
		req.Header.Set("BITS-Packet-Type", packet)
		for i := 0; i < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	resp := post("Create-Session", "", "BITS-Supported-Protocols", "{7df0354d-249b-430f-820d-3d2a9bef4931}")
	id := resp.Header.Get("BITS-Session-Id")
	fmt.Println("Create-Session:", resp.StatusCode, resp.Header.Get("BITS-Protocol"))
	resp = post("Fragment", "hello, ", "BITS-Session-Id", id, "Content-Range", "bytes 0-6/13")
	fmt.Println("Fragment:", resp.StatusCode, "next", resp.Header.Get("BITS-Received-Content-Range"))
	resp = post("Fragment", "world!", "BITS-Session-Id", id, "Content-Range", "bytes 7-12/13")
	fmt.Println("Fragment:", resp.StatusCode, "next", resp.Header.Get("BITS-Received-Content-Range"))
	_, err = os.Stat(filepath.Join(dir, "hello.txt"))
	fmt.Println("published before Close-Session:", err == nil)
	resp = post("Close-Session", "", "BITS-Session-Id", id)
	fmt.Println("Close-Session:", resp.StatusCode)
	b, _ := os.ReadFile(filepath.Join(dir, "hello.txt"))
	fmt.Printf("hello.txt: %s\n", b)

	resp = post("Fragment", "!", "BITS-Session-Id", id, "Content-Range", "bytes 12-12/13")
	fmt.Println("after Close-Session:", resp.StatusCode, resp.Header.Get("BITS-Error-Code"), resp.Header.Get("BITS-Error-Context"))
	// Output:
	// Create-Session: 200 {7df0354d-249b-430f-820d-3d2a9bef4931}
	// Fragment: 200 next 7
	// Fragment: 200 next 13
	// published before Close-Session: false
	// Close-Session: 200
	// hello.txt: hello, world!
	// after Close-Session: 500 0x8020001F 0x5
}
