package bitstest_test

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/bitsemu/bitsemu/bitstest"
	"github.com/bitsemu/bitsemu/upload"
)

// An UploadServer with a fault script: the server forgets the session at the second fragment,
// and the client has to start again with a new session.
func ExampleUploadServer() {
	dir, err := os.MkdirTemp("", "uploads")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv := bitstest.NewUploadServer(dir, upload.Options{},
		bitstest.LoseSession().Method("Fragment").Skip(1).Times(1))
	defer srv.Close()

	post := func(packet, body string, header ...string) *http.Response {
		req, _ := http.NewRequest("BITS_POST", srv.URLFor("report.txt"), strings.NewReader(body))
		req.Header.Set("BITS-Packet-Type", packet)
		for i := 0; i < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	session := func() string {
		return post("Create-Session", "", "BITS-Supported-Protocols", "{7df0354d-249b-430f-820d-3d2a9bef4931}").Header.Get("BITS-Session-Id")
	}

	id := session()
	resp := post("Fragment", "hello ", "BITS-Session-Id", id, "Content-Range", "bytes 0-5/11")
	fmt.Println("first fragment:", resp.StatusCode)
	resp = post("Fragment", "world", "BITS-Session-Id", id, "Content-Range", "bytes 6-10/11")
	fmt.Println("second fragment:", resp.StatusCode, resp.Header.Get("BITS-Error-Code"))

	id = session()
	post("Fragment", "hello world", "BITS-Session-Id", id, "Content-Range", "bytes 0-10/11")
	fmt.Println("close:", post("Close-Session", "", "BITS-Session-Id", id).StatusCode)
	b, _ := os.ReadFile(filepath.Join(srv.Dir, "report.txt"))
	fmt.Printf("%s; sessions lost: %d\n", b, srv.Stats().SessionsLost)
	// Output:
	// first fragment: 200
	// second fragment: 500 0x8020001F
	// close: 200
	// hello world; sessions lost: 1
}
