package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/term"

	"github.com/bitsemu/bitsemu/hresult"
)

// cli is one run of the command: its streams, environment and global options.
type cli struct {
	ctx            context.Context
	stdout, stderr io.Writer
	env            func(string) string

	json      bool   // /json or --json: print one JSON document
	raw       bool   // /rawreturn: bare values, for scripts
	storeFlag string // /store DIR or --store DIR
	wrap      wrapMode

	term *os.File // standard output when it is a terminal; progress is drawn on it directly
}

// wrapMode is what /WRAP and /NOWRAP ask of lines wider than the terminal.
type wrapMode uint8

const (
	wrapDefault wrapMode = iota // bitsadmin's default: every verb wraps but /MONITOR
	wrapOn                      // /WRAP: the terminal wraps long lines
	wrapOff                     // /NOWRAP: long lines are cut at the terminal's edge
)

// wraps reports whether lines wider than the terminal wrap, for a verb that wraps by default
// or not (bitsadmin: "by default, all switches, except /monitor, wrap output").
func (c *cli) wraps(byDefault bool) bool {
	switch c.wrap {
	case wrapOn:
		return true
	case wrapOff:
		return false
	}
	return byDefault
}

// storeMode says whether a verb talks to the service.
type storeMode uint8

const (
	noStore    storeMode = iota // the verb needs no connection (/help, /demo, /service, /shutdown)
	viaService                  // the verb connects to the store's service, starting it if need be
)

// verbSpec describes one verb: its name, its arguments and its implementation.
type verbSpec struct {
	name     string // lower case, without the slash
	syntax   string // the arguments, for usage text
	summary  string
	flags    []string // boolean options, lower case, without the slash
	values   []string // options that take a value
	min, max int      // positional arguments; max < 0 means no limit
	// optsBefore, when not zero, ends the options once that many positional arguments have
	// been seen: /TRANSFER takes its switches before its remote/local pairs, so that a local
	// name such as /dynamic stays a name.
	optsBefore int
	mode       storeMode
	// prepare, when set, checks the arguments (and finds or creates the job) before run.
	prepare func(c *cli, s *session, a *args) error
	run     func(c *cli, s *session, a *args) error
}

// args are a verb's parsed arguments.
type args struct {
	pos   []string
	flags map[string]bool
	vals  map[string]string

	id      uuid.UUID // the job a prepare step found or created
	created bool      // the prepare step created it
}

func (a *args) flag(name string) bool { return a.flags[name] }

func (a *args) value(name string) (string, bool) {
	v, ok := a.vals[name]
	return v, ok
}

// usageError is a command line that does not parse: exit status 2, with the verb's usage.
type usageError struct {
	verb *verbSpec // nil: the general usage
	msg  string
}

func (e *usageError) Error() string { return e.msg }

func usagef(v *verbSpec, format string, a ...any) error {
	return &usageError{verb: v, msg: fmt.Sprintf(format, a...)}
}

// bitsError is a failed BITS call: its HRESULT is printed with what was being done.
type bitsError struct {
	what    string // "complete the job", ...
	err     error
	noState bool // leave out the state the job was in (it has changed since)
}

func (e *bitsError) Error() string { return "unable to " + e.what + ": " + e.err.Error() }
func (e *bitsError) Unwrap() error { return e.err }

func failed(what string, err error) error { return &bitsError{what: what, err: err} }

// The exit statuses of the command.
const (
	exitOK             = 0 // success
	exitFailure        = 1 // BITS failed a call (its HRESULT is printed), or another failure
	exitUsage          = 2 // the command line does not parse
	exitNotTransferred = 3 // the job /TRANSFER or /WAIT followed did not end TRANSFERRED
	exitNoService      = 4 // the store's service could not be reached or started
)

// exitStatus ends the command with a status; its message, if any, has been printed already.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// optionName returns the option name of an argument ("/verbose", "-verbose", "--verbose" give
// "verbose") and whether it has an option's form.
func optionName(arg string) (string, bool) {
	if len(arg) < 2 || (arg[0] != '/' && arg[0] != '-') {
		return "", false
	}
	return strings.ToLower(strings.TrimLeft(arg, "/-")), true
}

// globals removes the global options (/store DIR, /json) from the command line, wherever they are.
func (c *cli) globals(argv []string) ([]string, error) {
	var rest []string
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if arg == "--" {
			rest = append(rest, argv[i:]...)
			break
		}
		name, ok := optionName(arg)
		switch {
		case ok && name == "json":
			c.json = true
		case ok && name == "rawreturn":
			c.raw = true
		case ok && name == "wrap":
			c.wrap = wrapOn
		case ok && name == "nowrap":
			c.wrap = wrapOff
		case ok && name == "store":
			if i+1 >= len(argv) || argv[i+1] == "" {
				return nil, usagef(nil, "%s needs a directory", arg)
			}
			c.storeFlag = argv[i+1]
			i++
		case ok && strings.HasPrefix(name, "store="):
			c.storeFlag = arg[strings.Index(arg, "=")+1:]
			if c.storeFlag == "" {
				return nil, usagef(nil, "%s needs a directory", arg)
			}
		default:
			rest = append(rest, arg)
		}
	}
	return rest, nil
}

// parse splits a verb's arguments into its options and positional arguments. An argument is an
// option only if it names one of the verb's options ("/verbose", "--verbose"), so local paths such
// as /tmp/file stay positional; "--" ends the options.
func (v *verbSpec) parse(argv []string) (*args, error) {
	a := &args{flags: map[string]bool{}, vals: map[string]string{}}
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if arg == "--" {
			a.pos = append(a.pos, argv[i+1:]...)
			break
		}
		name, ok := optionName(arg)
		if v.optsBefore > 0 && len(a.pos) >= v.optsBefore {
			ok = false
		}
		switch {
		case ok && slices.Contains(v.flags, name):
			a.flags[name] = true
		case ok && slices.Contains(v.values, name):
			if i+1 >= len(argv) {
				return nil, usagef(v, "%s needs a value", arg)
			}
			a.vals[name] = argv[i+1]
			i++
		default:
			a.pos = append(a.pos, arg)
		}
	}
	switch {
	case len(a.pos) < v.min:
		return nil, usagef(v, "/%s needs %s", strings.ToUpper(v.name), v.syntax)
	case v.max >= 0 && len(a.pos) > v.max:
		return nil, usagef(v, "too many arguments for /%s: %q", strings.ToUpper(v.name), a.pos[v.max])
	}
	return a, nil
}

// main runs the command line and maps its outcome to an exit status.
func (c *cli) main(argv []string) int {
	err := c.dispatch(argv)
	status := c.report(err)
	if c.json && err != nil && !errors.As(err, new(exitStatus)) {
		// The verb printed no document: the failure is the document.
		_ = c.printJSON(failureDoc{Error: errorJSON(err), ExitStatus: status})
	}
	return status
}

// failureDoc is a failed command in JSON.
type failureDoc struct {
	Error      *errorInfoDoc `json:"error"`
	ExitStatus int           `json:"exit_status"`
}

// errorInfoDoc describes a failure: the usage error; or the HRESULT (code, name, message, text)
// with what the service said of the call (operation, job, state); or the message of any other
// failure, with the jobs an ambiguous display name names.
type errorInfoDoc struct {
	Usage     string   `json:"usage,omitempty"`
	Code      string   `json:"code,omitempty"`
	Name      string   `json:"name,omitempty"`
	Message   string   `json:"message,omitempty"`
	Text      string   `json:"text,omitempty"`
	Operation *string  `json:"operation,omitempty"`
	Job       *string  `json:"job,omitempty"`
	State     *string  `json:"state,omitempty"`
	Jobs      []string `json:"jobs,omitempty"`
}

// errorJSON describes a failure for /json.
func errorJSON(err error) *errorInfoDoc {
	var ue *usageError
	if errors.As(err, &ue) {
		return &errorInfoDoc{Usage: ue.msg}
	}
	var ae *ambiguousError
	if errors.As(err, &ae) {
		return &errorInfoDoc{Message: ae.Error(), Jobs: ae.jobs}
	}
	var he *hresult.Error
	var code hresult.Code
	if !errors.As(err, &he) && !errors.As(err, &code) {
		return &errorInfoDoc{Message: err.Error()}
	}
	code = hresult.Of(err)
	d := &errorInfoDoc{Code: fmt.Sprintf("0x%08X", uint32(code)), Name: code.Name(), Message: code.Message(), Text: err.Error()}
	if he != nil {
		d.Operation, d.Job, d.State = &he.Op, &he.Job, &he.State
	}
	return d
}

func (c *cli) dispatch(argv []string) error {
	argv, err := c.globals(argv)
	if err != nil {
		return err
	}
	if len(argv) == 0 {
		return usagef(nil, "no verb given")
	}
	name, ok := optionName(argv[0])
	if !ok {
		return usagef(nil, "%q is not a verb: verbs start with /", argv[0])
	}
	v := lookupVerb(name)
	if v == nil {
		return usagef(nil, "unknown verb %s", argv[0])
	}
	a, err := v.parse(argv[1:])
	if err != nil {
		return err
	}
	if f, ok := c.stdout.(*os.File); ok && c.env("TERM") != "dumb" && term.IsTerminal(int(f.Fd())) {
		c.term = f
		if !c.json && !c.wraps(v.name != "monitor") && v.name != "monitor" {
			// /NOWRAP: every line cut at the terminal's edge (/MONITOR cuts its own).
			cw := &cutWriter{w: f, width: func() int { w, _ := c.termSize(); return w }}
			defer cw.flush()
			c.stdout = cw
		}
	}
	if v.mode == noStore {
		return v.run(c, nil, a)
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	defer s.close()
	if v.prepare != nil {
		if err := v.prepare(c, s, a); err != nil {
			return err
		}
	}
	return v.run(c, s, a)
}

// report prints a failure and returns the exit status for it.
func (c *cli) report(err error) int {
	if err == nil {
		return exitOK
	}
	var (
		ue *usageError
		be *bitsError
		es exitStatus
		ae *ambiguousError
		se *serviceError
	)
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "bitsadmin: %s\n\n", ue.msg)
		if ue.verb != nil {
			fmt.Fprintf(c.stderr, "Usage: bitsadmin %s\n", strings.TrimSpace("/"+strings.ToUpper(ue.verb.name)+" "+ue.verb.syntax))
			fmt.Fprintf(c.stderr, "Run bitsadmin /help for every verb.\n")
		} else {
			writeUsage(c.stderr, false)
		}
		return exitUsage
	case errors.As(err, &es):
		return int(es)
	case errors.As(err, &ae):
		fmt.Fprintf(c.stderr, "bitsadmin: the display name '%s' matches %d jobs; name one by its GUID:\n", ae.name, len(ae.jobs))
		for _, line := range ae.jobs {
			fmt.Fprintf(c.stderr, "  %s\n", line)
		}
		return exitFailure
	case errors.As(err, &se):
		fmt.Fprintf(c.stderr, "bitsadmin: %v\n", se)
		return exitNoService
	case errors.As(err, &be):
		printHRESULT(c.stderr, "Unable to "+be.what, be.err, !be.noState)
		return exitFailure
	default:
		fmt.Fprintf(c.stderr, "bitsadmin: %v\n", err)
		return exitFailure
	}
}

// printHRESULT prints "what: NAME (0xHEX): message" and what the error says of the job: its
// state (when withState) and the underlying cause.
func printHRESULT(w io.Writer, what string, err error, withState bool) {
	code := hresult.Of(err)
	fmt.Fprintf(w, "%s: %s\n", what, code.Error())
	var he *hresult.Error
	if errors.As(err, &he) {
		if he.State != "" && withState {
			fmt.Fprintf(w, "The job is %s.\n", he.State)
		}
		if he.Err != nil {
			fmt.Fprintf(w, "Cause: %v\n", he.Err)
		}
	}
}

// parseSeconds reads a duration in seconds ("5", "0.25") for /refresh and /timeout.
func parseSeconds(v *verbSpec, opt, s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0, usagef(v, "/%s takes a number of seconds, not %q", opt, s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// parseUint32 reads a decimal or 0x-hexadecimal number.
func parseUint32(v *verbSpec, what, s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, usagef(v, "%s must be a number from 0 to 4294967295, not %q", what, s)
	}
	return uint32(n), nil
}

// isTerminal reports whether standard output is a terminal (term.IsTerminal: the terminal
// ioctl answers), where progress is redrawn in place; elsewhere, and with TERM=dumb, it is
// printed as plain lines.
func (c *cli) isTerminal() bool { return c.term != nil }

// termSize returns standard output's terminal's width and height, read now (the terminal may
// have been resized); defaultWidth by 24 when it cannot be read.
func (c *cli) termSize() (width, height int) {
	if c.term != nil {
		if w, h, err := term.GetSize(int(c.term.Fd())); err == nil && w > 0 && h > 0 {
			return w, h
		}
	}
	return defaultWidth, 24
}

// cutWriter cuts each line written through it to the terminal's width less one column (for
// /NOWRAP); a carriage return starts a line too. Escape sequences are left whole.
type cutWriter struct {
	w     io.Writer
	width func() int
	line  []byte
}

func (cw *cutWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		cw.line = append(cw.line, b)
		if b == '\n' || b == '\r' {
			if err := cw.flush(); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}

// flush writes the line so far, cut.
func (cw *cutWriter) flush() error {
	if len(cw.line) == 0 {
		return nil
	}
	line := string(cw.line)
	end := ""
	if n := len(line); line[n-1] == '\n' || line[n-1] == '\r' {
		line, end = line[:n-1], line[n-1:]
	}
	_, err := io.WriteString(cw.w, cutVisible(line, max(cw.width()-1, 1))+end)
	cw.line = cw.line[:0]
	return err
}

// cutVisible cuts s after n visible runes, keeping every escape sequence (ESC [ ... letter).
func cutVisible(s string, n int) string {
	var b strings.Builder
	seen := 0
	for i := 0; i < len(s); {
		if m := csiLen(s[i:]); m > 0 {
			b.WriteString(s[i : i+m])
			i += m
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if seen < n {
			b.WriteRune(r)
		}
		seen++
		i += size
	}
	return b.String()
}

// csiLen is the length of the escape sequence s starts with, 0 if none.
func csiLen(s string) int {
	if len(s) < 2 || s[0] != 0x1b || s[1] != '[' {
		return 0
	}
	for i := 2; i < len(s); i++ {
		if c := s[i]; (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') {
			return i + 1
		}
	}
	return 0
}

// progress returns the progress view of a verb that follows a job on out: redrawn in place on
// a terminal, to its width; plain lines elsewhere.
func (c *cli) progress(out io.Writer) *progressView {
	if _, cut := out.(*cutWriter); cut {
		out = c.term // the progress line cuts itself
	}
	v := newProgress(out, !c.json && c.isTerminal())
	if v.tty {
		v.width = func() int { w, _ := c.termSize(); return w }
	}
	return v
}
