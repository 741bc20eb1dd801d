// Package wire is the bitsemu service protocol (bitsemu.proto): the messages and gRPC services
// generated from it, and the file names a service and its clients agree on. The generated files
// are committed, so building needs no protoc; after changing the .proto, run go generate here
// (protoc 3.21 or later, protoc-gen-go and protoc-gen-go-grpc on PATH).
package wire

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative bitsemu.proto

// The files of a service, in its store's directory.
const (
	// SocketName is the Unix-domain socket the service listens on.
	SocketName = "bitsemu.sock"
	// PIDName holds the running service's process id, in decimal, and a newline.
	PIDName = "service.pid"
	// LockName is locked (flock, exclusive) by the running service for its whole life.
	LockName = "service.lock"
	// StartLockName is locked by a client while it starts the service, so that clients that
	// find no service at once start one between them.
	StartLockName = "start.lock"
	// LogName receives the standard output and error of a service a client started.
	LogName = "service.log"
	// MachineSIDName holds the machine part of the SIDs the service gives users.
	MachineSIDName = "machine.sid"
)
