package bitstest_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/bitsemu/bitsemu/bitstest"
)

// A server whose fault script fails the first request with 503, cuts the next GET after 4
// bytes, then behaves: a client resumes with a Range request.
func ExampleNewServer() {
	srv := bitstest.NewServer(
		map[string][]byte{"update.bin": []byte("0123456789")},
		bitstest.Status(http.StatusServiceUnavailable, 1),
		bitstest.DropAfter(4).On("update.bin").Times(1),
	)
	defer srv.Close()
	client := srv.Client()
	url := srv.URLFor("update.bin")

	resp, _ := client.Head(url)
	fmt.Println("HEAD:", resp.Status)

	resp, _ = client.Head(url)
	fmt.Println("HEAD:", resp.Status, "size", resp.ContentLength)

	resp, _ = client.Get(url)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("GET: %s %q, %v\n", resp.Status, got, err)

	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-", len(got)))
	resp, _ = client.Do(req)
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("GET: %s %s %q, %v\n", resp.Status, resp.Header.Get("Content-Range"), rest, err)

	st := srv.Stats()
	fmt.Printf("%d requests, %d faults, %d body bytes sent\n", st.Requests, st.Faults, st.BytesSent)
	fmt.Println("script played:", len(srv.PendingFaults()) == 0)
	// Output:
	// HEAD: 503 Service Unavailable
	// HEAD: 200 OK size 10
	// GET: 200 OK "0123", unexpected EOF
	// GET: 206 Partial Content bytes 4-9/10 "456789", <nil>
	// 4 requests, 2 faults, 10 body bytes sent
	// script played: true
}
