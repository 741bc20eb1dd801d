package service_test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/internal/benchmut"
	"github.com/bitsemu/bitsemu/manager"
)

// BenchmarkRoundTrip is one no-op call (GetPriority) made in process on a manager.Client, the
// same call through the service over its Unix socket, and, for the floor, a bare echo of a
// 16-byte message over a Unix socket.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("in-process", func(b *testing.B) {
		m := manager.New(manager.WithManualTransfers())
		defer m.Close()
		c, err := m.Connect(testMachine.Identity(os.Getuid()))
		if err != nil {
			b.Fatal(err)
		}
		benchGetPriority(b, c)
	})
	b.Run("service", func(b *testing.B) {
		s := serve(b, manager.WithManualTransfers())
		benchGetPriority(b, s.connect(b))
	})
	b.Run("unix-echo", func(b *testing.B) {
		sock := filepath.Join(shortDir(b), "echo.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
		c, err := net.Dial("unix", sock)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		msg, buf := make([]byte, 16), make([]byte, 16)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchGetPriority(b *testing.B, m bits.Manager) {
	j, err := m.CreateJob("bench", bits.Download)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.GetPriority(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDurableMutations64 is 64 applications, each connected to the service and holding a
// job of its own, each changing its job once (SetDescription, on disk when it returns): one
// after another ("serial"), or all at once ("concurrent"), where the manager writes the changes
// of different jobs at the same time and the store commits them together (group commit). One op
// is the 64 calls.
func BenchmarkDurableMutations64(b *testing.B) {
	benchmut.Run64(b, func(b *testing.B) []bits.Job {
		s := serve(b, manager.WithManualTransfers())
		jobs := make([]bits.Job, 64)
		for i := range jobs {
			j, err := s.connect(b).CreateJob("bench", bits.Download)
			if err != nil {
				b.Fatal(err)
			}
			jobs[i] = j
		}
		return jobs
	})
}
