// Package service is the bitsemu service as a process: it owns one job store, runs the transfer
// engine continuously, and serves applications over a Unix-domain socket beside the store, as
// Windows runs BITS for the applications of every user.
//
// Run is the process body (bitsadmin /service /foreground runs it): it locks the store's
// directory, opens the store with manager.Open, listens on bitsemu.sock, writes service.pid, and
// stops on its context (SIGTERM) or when a client asks (client.Shutdown, bitsadmin /shutdown),
// stopping the transfers as manager.Close does, so that they continue at the next start. Jobs
// move after Resume with no application running, survive the service's restart (their callbacks
// do not, as in BITS) and expire as BITS's do.
//
// Each connection is one application. Its identity comes from the kernel when the connection is
// accepted (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS), never from a message: uid n is the
// SID <machine>-<1000+n>, root is <machine>-500 and an administrator (see Machine). The service
// opens a manager.Client for that identity and closes it when the connection ends, so that the
// application's handles stop working and its callbacks stop being valid (its jobs' notify
// command lines run in their place).
//
// The protocol is gRPC, described by internal/wire/bitsemu.proto (protocol version 1). Package
// service/client is its client side: a bits.Manager over the socket, which starts the service
// when none runs. Server serves a manager given by the caller, for tests and for programs that
// host the service themselves.
package service
