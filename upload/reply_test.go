package upload_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/clock"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/internal/bup"
	"github.com/bitsemu/bitsemu/upload"
)

// app is a server application: it records the notifications it gets and answers with answer.
type app struct {
	t      *testing.T
	ts     *httptest.Server
	mu     sync.Mutex
	got    []appRequest
	answer func(w http.ResponseWriter, r *http.Request, body []byte)
}

// appRequest is one notification the application got.
type appRequest struct {
	URL    string
	Header http.Header
	Body   []byte
	File   []byte // by reference: the content of BITS-Request-DataFile-Name when it came
}

func newApp(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body []byte)) *app {
	a := &app{t: t, answer: answer}
	a.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := appRequest{URL: r.URL.String(), Header: r.Header.Clone(), Body: body}
		if p := r.Header.Get(bup.HeaderRequestDataFileName); p != "" {
			rec.File, _ = os.ReadFile(p)
		}
		a.mu.Lock()
		a.got = append(a.got, rec)
		a.mu.Unlock()
		a.answer(w, r, body)
	}))
	t.Cleanup(a.ts.Close)
	return a
}

func (a *app) requests() []appRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]appRequest(nil), a.got...)
}

// get fetches url with the client of s, with an optional Range.
func (s *srv) get(url, rng string) reply {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(s.t, err)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	return send(s.t, s.ts.Client(), req)
}

// TestReplyByValue hands the upload to the application as the request body
// (BITSServerNotificationType 2), and serves its response body at BITS-Reply-URL until the
// session is closed. The upload itself is not published: the application did not ask.
func TestReplyByValue(t *testing.T) {
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Write(append([]byte("reply to "), body...))
	})
	s := newSrv(t, upload.Options{NotifyType: upload.NotifyByValue, NotifyURL: a.ts.URL + "/app.asp?mode=x"})
	require.NoError(t, os.Mkdir(filepath.Join(s.dir, "in"), 0o755))
	data := pattern(5000, 12)
	id := s.create("/in/job.dat?ACCOUNT=86433")
	// Fragments before the last get no reply URL.
	r := s.fragment("/in/job.dat", id, data, 0, 3999)
	assertOK(t, r)
	assert.Empty(t, r.Header.Values(bup.HeaderReplyURL))
	assert.Empty(t, a.requests(), "the application hears of the upload only when it is complete")
	r = s.fragment("/in/job.dat", id, data, 4000, 4999)
	assertOK(t, r)
	replyURL := r.Header.Get(bup.HeaderReplyURL)
	require.NotEmpty(t, replyURL)
	assert.True(t, strings.HasPrefix(replyURL, s.ts.URL+"/BITS-Sessions/Replies/"), replyURL)

	got := a.requests()
	require.Len(t, got, 1)
	assert.Equal(t, "/app.asp?mode=x&ACCOUNT=86433", got[0].URL, "the upload's query is appended")
	assert.Equal(t, s.ts.URL+"/in/job.dat?ACCOUNT=86433", got[0].Header.Get(bup.HeaderOriginalRequestURL))
	assert.Equal(t, data, got[0].Body)
	assert.Equal(t, "5000", got[0].Header.Get("Content-Length"))
	assert.Empty(t, got[0].Header.Values(bup.HeaderRequestDataFileName))

	want := append([]byte("reply to "), data...)
	g := s.get(replyURL, "")
	assert.Equal(t, http.StatusOK, g.Status)
	assert.Equal(t, want, g.Body)
	g = s.get(replyURL, "bytes=9-18")
	assert.Equal(t, http.StatusPartialContent, g.Status)
	assert.Equal(t, want[9:19], g.Body)
	assert.NotEmpty(t, g.Header.Get("Last-Modified"))

	// The last fragment again (its Ack was lost, say): the same reply, no second notification.
	r = s.fragment("/in/job.dat", id, data, 4000, 4999)
	assertOK(t, r)
	assert.Equal(t, replyURL, r.Header.Get(bup.HeaderReplyURL))
	assert.Len(t, a.requests(), 1)

	assertOK(t, s.closeSession("/in/job.dat", id))
	assert.Equal(t, http.StatusNotFound, s.get(replyURL, "").Status, "Close-Session deletes the reply")
	assert.NoFileExists(t, filepath.Join(s.dir, "in", "job.dat"))
	assert.NoDirExists(t, s.sessionDir(id))
}

// TestReplyByReference passes the paths of the upload and of the reply in headers
// (BITSServerNotificationType 1); the application writes its reply to the file it was given.
// With BITS-Copy-File-To-Destination the upload is published too.
func TestReplyByReference(t *testing.T) {
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		in, err := os.ReadFile(r.Header.Get(bup.HeaderRequestDataFileName))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out := bytes.ToUpper(in)
		if err := os.WriteFile(r.Header.Get(bup.HeaderResponseDataFileName), out, 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set(bup.HeaderCopyFileToDestination, "")
	})
	s := newSrv(t, upload.Options{NotifyType: upload.NotifyByReference, NotifyURL: a.ts.URL + "/app"})
	require.NoError(t, os.Mkdir(filepath.Join(s.dir, "in"), 0o755))
	data := []byte("upload by reference")
	id := s.create("/in/ref.txt")
	r := s.upload("/in/ref.txt", id, data, 7)
	replyURL := r.Header.Get(bup.HeaderReplyURL)
	require.NotEmpty(t, replyURL)

	got := a.requests()
	require.Len(t, got, 1)
	assert.Equal(t, data, got[0].File, "the application could read the upload at the path it was given")
	assert.Empty(t, got[0].Body)
	assert.True(t, filepath.IsAbs(got[0].Header.Get(bup.HeaderRequestDataFileName)))
	assert.True(t, filepath.IsAbs(got[0].Header.Get(bup.HeaderResponseDataFileName)))
	assert.Equal(t, s.ts.URL+"/in/ref.txt", got[0].Header.Get(bup.HeaderOriginalRequestURL))

	assert.Equal(t, []byte("UPLOAD BY REFERENCE"), s.get(replyURL, "").Body)
	assertOK(t, s.closeSession("/in/ref.txt", id))
	assert.Equal(t, data, fileContent(t, filepath.Join(s.dir, "in", "ref.txt")), "BITS-Copy-File-To-Destination publishes it")
}

// TestReplyByReferenceInTheBody takes a by-reference application's response body as the reply
// when it writes no reply file ([MC-BUP 3.4.5.2]), and ignores a link planted as the reply file.
func TestReplyByReferenceInTheBody(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("secret"), 0o600))
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		_ = os.Symlink(secret, r.Header.Get(bup.HeaderResponseDataFileName))
		io.WriteString(w, "in the body")
	})
	var logged logBuffer
	s := newSrv(t, upload.Options{NotifyType: upload.NotifyByReference, NotifyURL: a.ts.URL, ErrorLog: logged.logger()})
	id := s.create("/b.txt")
	r := s.upload("/b.txt", id, []byte("x"), 1)
	assert.Equal(t, []byte("in the body"), s.get(r.Header.Get(bup.HeaderReplyURL), "").Body)
	assert.Contains(t, logged.String(), "not a regular file")
}

// TestStaticReplyURL passes on the URL the application names as its reply.
func TestStaticReplyURL(t *testing.T) {
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set(bup.HeaderStaticResponseURL, "https://cdn.example.com/replies/42")
		io.WriteString(w, "ignored")
	})
	s := newSrv(t, upload.Options{NotifyType: upload.NotifyByValue, NotifyURL: a.ts.URL})
	id := s.create("/s.txt")
	r := s.upload("/s.txt", id, []byte("abc"), 3)
	assert.Equal(t, "https://cdn.example.com/replies/42", r.Header.Get(bup.HeaderReplyURL))
	assertOK(t, s.closeSession("/s.txt", id))
}

// TestReplyURLBehindAPrefixAndPublicURL builds the reply URL from the part of the path
// consumed before the handler, or from PublicURL.
func TestReplyURLBehindAPrefixAndPublicURL(t *testing.T) {
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, body []byte) { io.WriteString(w, "R") })
	for _, public := range []string{"", "https://uploads.example.com/bits/"} {
		dir := t.TempDir()
		h, err := upload.New(dir, upload.Options{NotifyType: upload.NotifyByValue, NotifyURL: a.ts.URL, PublicURL: public})
		require.NoError(t, err)
		mux := http.NewServeMux()
		mux.Handle("/bits/", http.StripPrefix("/bits", h))
		ts := httptest.NewServer(mux)
		s := &srv{t: t, h: h, ts: ts, dir: dir}
		id := s.create("/bits/p.txt")
		r := s.upload("/bits/p.txt", id, []byte("p"), 1)
		replyURL := r.Header.Get(bup.HeaderReplyURL)
		if public == "" {
			assert.True(t, strings.HasPrefix(replyURL, ts.URL+"/bits/BITS-Sessions/Replies/%7B"), replyURL)
			assert.Equal(t, []byte("R"), s.get(replyURL, "").Body)
		} else {
			assert.True(t, strings.HasPrefix(replyURL, "https://uploads.example.com/bits/BITS-Sessions/Replies/%7B"), replyURL)
			assert.Equal(t, []byte("R"), s.get(strings.Replace(replyURL, "https://uploads.example.com", ts.URL, 1), "").Body)
		}
		ts.Close()
		h.Close()
	}
}

// TestFailingApplication sends the application's failure to the client with the context of
// the server application; the session keeps the upload, and the client's next try of the last
// fragment asks the application again.
func TestFailingApplication(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if fail.Load() {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "done")
	})
	s := newSrv(t, upload.Options{NotifyType: upload.NotifyByValue, NotifyURL: a.ts.URL, ErrorLog: (&logBuffer{}).logger()})
	data := pattern(64, 13)
	id := s.create("/f.bin")
	r := s.fragment("/f.bin", id, data, 0, 63)
	assertFailure(t, r, http.StatusServiceUnavailable, hresult.HTTP(503), bup.ContextRemoteApplication)
	assert.Equal(t, uint64(64), r.next(t))
	assert.Empty(t, r.Header.Values(bup.HeaderReplyURL))

	fail.Store(false)
	r = s.fragment("/f.bin", id, data, 0, 63)
	assertOK(t, r)
	assert.Equal(t, []byte("done"), s.get(r.Header.Get(bup.HeaderReplyURL), "").Body)
	assert.Len(t, a.requests(), 2)
}

// TestApplicationErrors maps the ways the application fails.
func TestApplicationErrors(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()
	tests := []struct {
		name   string
		url    func(t *testing.T) string
		status int
		code   hresult.Code
	}{
		{"forbidden", func(t *testing.T) string {
			return newApp(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { w.WriteHeader(403) }).ts.URL
		}, 403, hresult.HTTP(403)},
		{"redirect", func(t *testing.T) string {
			return newApp(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			}).ts.URL
		}, 302, hresult.HTTP(302)},
		{"bad static URL", func(t *testing.T) string {
			return newApp(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Header().Set(bup.HeaderStaticResponseURL, "relative/reply")
			}).ts.URL
		}, 400, hresult.E_INVALIDARG},
		{"static URL over 2200 characters", func(t *testing.T) string {
			return newApp(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Header().Set(bup.HeaderStaticResponseURL, "http://h/"+strings.Repeat("a", 2200))
			}).ts.URL
		}, 400, hresult.E_INVALIDARG},
		{"unreachable", func(t *testing.T) string { return goneURL }, http.StatusBadGateway, hresult.HTTP(502)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSrv(t, upload.Options{NotifyType: upload.NotifyByValue, NotifyURL: tt.url(t), ErrorLog: (&logBuffer{}).logger()})
			id := s.create("/e")
			r := s.fragment("/e", id, []byte("e"), 0, 0)
			assertFailure(t, r, tt.status, tt.code, bup.ContextRemoteApplication)
			assert.Empty(t, r.Header.Values(bup.HeaderReplyURL))
			assertOK(t, s.closeSession("/e", id))
			assert.NoFileExists(t, filepath.Join(s.dir, "e"), "an upload the application did not take is not published")
		})
	}
}

// TestApplicationTimeout gives up on an application that does not answer within
// NotifyTimeout, in virtual time: 408 with the HRESULT of [MC-BUP 3.3.6].
func TestApplicationTimeout(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	vc := clock.NewVirtual(epoch)
	s := newSrv(t, upload.Options{NotifyType: upload.NotifyByValue, NotifyURL: a.ts.URL, Clock: vc, ErrorLog: (&logBuffer{}).logger()})
	id := s.create("/slow")
	done := make(chan reply, 1)
	go func() {
		done <- s.fragment("/slow", id, []byte("z"), 0, 0)
	}()
	<-arrived
	vc.Advance(upload.DefaultNotifyTimeout - time.Second)
	select {
	case <-done:
		t.Fatal("answered before the timeout")
	default:
	}
	vc.Advance(time.Second)
	r := <-done
	assertFailure(t, r, http.StatusRequestTimeout, hresult.Code(0x80070112), bup.ContextRemoteApplication)
}

// TestApplicationSuccessIsAny2xx takes any 2xx answer of the application as a success: here 202
// with its reply in the body.
func TestApplicationSuccessIsAny2xx(t *testing.T) {
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "accepted")
	})
	s := newSrv(t, upload.Options{NotifyType: upload.NotifyByValue, NotifyURL: a.ts.URL})
	id := s.create("/any")
	r := s.upload("/any", id, []byte("a"), 1)
	assert.Equal(t, []byte("accepted"), s.get(r.Header.Get(bup.HeaderReplyURL), "").Body)
}
