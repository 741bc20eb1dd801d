// Package bitstest helps users fake BITS in their own tests: a server with a fault script, an
// in-memory network for it, a manager on a virtual clock and a driver.
//
// The server ([NewServer], [NewTLSServer]) serves static content the way BITS needs it: HEAD
// with Content-Length, GET with a single Range answered 206 with Content-Range and
// Content-Length, and ETag and Last-Modified validators. A fault script ([Fault]) breaks it
// on purpose: status codes, cut or stalled connections, missing range or length support,
// content changing in the middle of a transfer, redirects.
//
// The server runs on loopback, or on an in-memory [Network] ([NewServerOn], [NewTLSServerOn])
// under names of the test's choosing: a client reaches it through [Network.Dial] (the
// signature of transfer.Config.Dial), no sockets are opened, and inside a testing/synctest
// bubble a transfer waiting on the network is durably blocked. [Network.Quiet] and
// [Network.Gen] tell whether anything is left to move on it.
//
// The harness ([NewHarness]) runs a manager on a virtual clock and drives it. Nothing moves
// between its steps: on the virtual clock every engine action is posted through the clock, so
// after any call the world stays as the call left it until the test steps ([Harness.Settle],
// [Harness.Step], [Harness.RunUntil], [Harness.WaitState]). A step runs the timers due one at a
// time, in order, and after each waits until the engine is quiescent: no notification being
// delivered, and every transfer returned or waiting on a silent peer (one that has sent
// nothing: no byte arrived or waits unread, every bitstest server and network quiet, for
// manager.SilentAfter of real time). Steps are bounded by [Harness.Timeout] and report what is
// busy instead of hanging; their Context forms ([Harness.SettleContext], [Harness.StepContext],
// [Harness.RunUntilContext], [Harness.WaitStateContext]) also end with a context and return the
// error. With every peer on a [Network] ([OnNetwork]) and a seed, a run is the
// same every time; manager.WithLogger gives its trace. Beside it:
// [Harness.Admin] and [Harness.Service] connect an administrator and a service account,
// [Harness.Jobs] lists every job the code under test created, [LaunchRecorder] records (or
// scripts) the notify command lines the manager would run instead of starting processes, and
// [Callback] is a job callback of which a test writes only the notifications it needs.
//
// The package imports only the standard library, github.com/google/uuid (job GUIDs) and
// bitsemu's own packages, so it can be used from any test.
package bitstest
