// Package jobhook carries functions from package job to bitsemu's service packages: the one that
// gives the service's side of a job (a *job.Engine) for an application's handle, and the one that
// tells which caller a handle acts as. Package
// job sets it when it initialises; package engine reads it. Being internal, it cannot be reached
// from outside the module, so an application holding a bits.Job cannot reach the engine.
package jobhook

// EngineOf holds a func(bits.Job) *job.Engine. It is typed any because this package sits below
// package job and cannot name its types.
var EngineOf any

// CallerOf holds a func(bits.Job) *job.Caller, set by package job likewise.
var CallerOf any
