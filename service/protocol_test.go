package service_test

import (
	"context"
	"net"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/service/client"
	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// otherVersion is a service that speaks another protocol version.
type otherVersion struct {
	wire.UnimplementedManagerServer
}

func (otherVersion) Hello(context.Context, *wire.HelloRequest) (*wire.HelloReply, error) {
	return &wire.HelloReply{Protocol: 2}, nil
}

// A client refuses a service of another protocol version, rather than misread it.
func TestProtocolVersionChecked(t *testing.T) {
	sock := filepath.Join(shortDir(t), "v2.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	g := grpc.NewServer()
	wire.RegisterManagerServer(g, otherVersion{})
	go func() { _ = g.Serve(l) }()
	defer g.Stop()
	_, err = client.Dial(sock)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "protocol version 2, this client 1")
}

// The objects an application drops are released in the service: its table does not grow with
// the handles the application made and forgot.
func TestDroppedHandlesAreReleased(t *testing.T) {
	s := serve(t, manager.WithManualTransfers())
	c := s.connect(t)
	j, err := c.CreateJob("kept", bits.Download)
	require.NoError(t, err)
	id, _ := j.GetId()
	for range 200 {
		h, err := c.GetJob(id)
		require.NoError(t, err)
		_, err = h.GetState()
		require.NoError(t, err)
	}
	require.GreaterOrEqual(t, s.srv.Objects(), 2, "the service holds the handles it gave out")
	waitFor(t, func() bool {
		runtime.GC()
		return s.srv.Objects() <= 20
	})
	_, err = j.GetState()
	require.NoError(t, err, "a handle still held still works")
	runtime.KeepAlive(j)
}
