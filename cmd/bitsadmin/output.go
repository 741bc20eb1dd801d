package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

// englishUS is the language error descriptions are asked in.
const englishUS = 0x0409

// kv is one member of a JSON object.
type kv struct {
	k string
	v any
}

// obj is a JSON object whose members keep their order.
type obj []kv

// MarshalJSON writes the members in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// printJSON writes v as one indented JSON document.
func (c *cli) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = c.stdout.Write(b)
	return err
}

// guid formats a job's GUID as BITS prints it: {1AC396AD-BE73-...}, upper case.
func guid(j bits.Job) string { return job.GUIDString(jobID(j)) }

// jobID is j's GUID. GetId fails only for a handle whose access ended, and every handle here was
// just obtained; such a handle gives the nil GUID.
func jobID(j bits.Job) uuid.UUID {
	id, _ := j.GetId()
	return id
}

// byteCount prints a byte count, UNKNOWN for BG_SIZE_UNKNOWN.
func byteCount(n uint64) string {
	if n == bits.SizeUnknown {
		return "UNKNOWN"
	}
	return strconv.FormatUint(n, 10)
}

// byteJSON is a byte count for JSON: null for BG_SIZE_UNKNOWN.
func byteJSON(n uint64) any {
	if n == bits.SizeUnknown {
		return nil
	}
	return n
}

// timeText prints a time as bitsadmin does (local time, US format), UNKNOWN for none.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "UNKNOWN"
	}
	return t.Local().Format("1/2/2006 3:04:05 PM")
}

// timeJSON is a time for JSON: RFC 3339, null for none.
func timeJSON(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// percent returns " (42%)" when the total is known and not zero.
func percent(p bits.Progress) string {
	if p.BytesTotal == bits.SizeUnknown || p.BytesTotal == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d%%)", p.BytesTransferred*100/p.BytesTotal)
}

// errInfo is a job's error object, read.
type errInfo struct {
	context     bits.ErrorContext
	contextText string
	code        hresult.Code
	protocol    string
	file        *bits.FileInfo // nil when the error concerns no file
}

// readError returns the job's error, or nil when it holds none.
func readError(j bits.Job) (*errInfo, error) {
	e, err := j.GetError()
	if errors.Is(err, hresult.BG_E_ERROR_INFORMATION_UNAVAILABLE) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ei := &errInfo{}
	ei.context, ei.code, _ = e.GetError()
	ei.contextText, _ = e.GetErrorContextDescription(englishUS)
	ei.protocol, _ = e.GetProtocol()
	if f, err := e.GetFile(); err == nil {
		r, _ := f.GetRemoteName()
		l, _ := f.GetLocalName()
		ei.file = &bits.FileInfo{RemoteName: r, LocalName: l}
	}
	return ei, nil
}

func (e *errInfo) json() obj {
	var file any
	if e.file != nil {
		file = obj{{"remote", e.file.RemoteName}, {"local", e.file.LocalName}}
	}
	return obj{
		{"context", e.context.String()},
		{"context_code", uint32(e.context)},
		{"context_description", e.contextText},
		{"code", fmt.Sprintf("0x%08X", uint32(e.code))},
		{"name", e.code.Name()},
		{"message", e.code.Message()},
		{"protocol", e.protocol},
		{"file", file},
	}
}

// write prints the error as bitsadmin /GetError does.
func (e *errInfo) write(w io.Writer) {
	if e.file != nil {
		fmt.Fprintf(w, "ERROR FILE:    %s -> %s\n", e.file.RemoteName, e.file.LocalName)
	}
	fmt.Fprintf(w, "ERROR CODE:    0x%08X %s - %s\n", uint32(e.code), e.code.Name(), e.code.Message())
	fmt.Fprintf(w, "ERROR CONTEXT: 0x%08X %s - %s\n", uint32(e.context), e.context.String(), e.contextText)
}

// fileInfo is one file of a job, read.
type fileInfo struct {
	remote, local, temp string
	progress            bits.FileProgress
}

// jobInfo is what /list and /info show of a job, read at one moment.
type jobInfo struct {
	id, name, description, owner string
	typ                          bits.JobType
	state                        state.State
	priority                     bits.Priority
	progress                     bits.Progress
	errorCount                   uint32
	times                        bits.Times
	err                          *errInfo

	verbose           bool
	minRetryDelay     uint32
	noProgressTimeout uint32
	maxDownloadTime   uint32
	notifyFlags       uint32
	notifyRegistered  bool
	cmdLine           bits.NotifyCmdLine
	proxy             bits.ProxySettings
	integrity         uint32
	elevated          bool
	headers           string // custom headers; "" for none
	headersErr        error  // why they cannot be read (write-only, not the owner)
	files             []fileInfo
	replyFile         string // an upload-reply job's reply file name
	reply             bits.ReplyProgress
}

// snapshot reads a job. verbose adds its settings and files.
func snapshot(j bits.Job, verbose bool) (*jobInfo, error) {
	ji := &jobInfo{id: guid(j), verbose: verbose}
	var err error
	read := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	ji.name, err = j.GetDisplayName()
	var e error
	ji.description, e = j.GetDescription()
	read(e)
	ji.owner, e = j.GetOwner()
	read(e)
	ji.typ, e = j.GetType()
	read(e)
	ji.state, e = j.GetState()
	read(e)
	ji.priority, e = j.GetPriority()
	read(e)
	ji.progress, e = j.GetProgress()
	read(e)
	ji.errorCount, e = j.GetErrorCount()
	read(e)
	ji.times, e = j.GetTimes()
	read(e)
	ji.err, e = readError(j)
	read(e)
	if err != nil || !verbose {
		return ji, err
	}
	ji.minRetryDelay, e = j.GetMinimumRetryDelay()
	read(e)
	ji.noProgressTimeout, e = j.GetNoProgressTimeout()
	read(e)
	ji.maxDownloadTime, e = j.GetMaximumDownloadTime()
	read(e)
	ji.notifyFlags, e = j.GetNotifyFlags()
	read(e)
	cb, e := j.GetNotifyInterface()
	read(e)
	ji.notifyRegistered = cb != nil
	ji.cmdLine, e = j.GetNotifyCmdLine()
	read(e)
	ji.proxy, e = j.GetProxySettings()
	read(e)
	ji.integrity, e = j.GetOwnerIntegrityLevel()
	read(e)
	ji.elevated, e = j.GetOwnerElevationState()
	read(e)
	ji.headers, _, ji.headersErr = j.GetCustomHeaders()
	files, e := readFiles(j)
	read(e)
	ji.files = files
	if ji.typ == bits.UploadReply {
		ji.replyFile, e = j.GetReplyFileName()
		read(e)
		ji.reply, e = j.GetReplyProgress()
		read(e)
	}
	return ji, err
}

// readFiles reads a job's files, in the order they were added.
func readFiles(j bits.Job) ([]fileInfo, error) {
	en, err := j.EnumFiles()
	if err != nil {
		return nil, err
	}
	fs, _ := bits.All(en)
	out := make([]fileInfo, 0, len(fs))
	for _, f := range fs {
		var fi fileInfo
		var e1, e2, e3 error
		fi.remote, e1 = f.GetRemoteName()
		fi.local, e2 = f.GetLocalName()
		fi.progress, e3 = f.GetProgress()
		fi.temp, _ = f.GetTemporaryName()
		if err := errors.Join(e1, e2, e3); err != nil {
			return nil, err
		}
		out = append(out, fi)
	}
	return out, nil
}

// line is the job as /list prints it:
// {GUID} 'name' STATE files-done / files bytes-done / bytes.
func (ji *jobInfo) line() string {
	p := ji.progress
	return fmt.Sprintf("%s '%s' %s %d / %d %s / %s", ji.id, ji.name, ji.state,
		p.FilesTransferred, p.FilesTotal, byteCount(p.BytesTransferred), byteCount(p.BytesTotal))
}

// integrityName names a mandatory integrity level as bitsadmin does.
func integrityName(level uint32) string {
	switch level {
	case bits.IntegritySystem:
		return "SYSTEM"
	case bits.IntegrityHigh:
		return "HIGH"
	case bits.IntegrityMedium:
		return "MEDIUM"
	}
	return fmt.Sprintf("%#x", level)
}

// nullText prints "" as NULL, as bitsadmin prints empty strings of the API.
func nullText(s string) string {
	if s == "" {
		return "NULL"
	}
	return s
}

// writeVerbose prints the job as bitsadmin /info /verbose does.
func (ji *jobInfo) writeVerbose(w io.Writer) {
	p := ji.progress
	fmt.Fprintf(w, "GUID: %s DISPLAY: '%s'\n", ji.id, ji.name)
	fmt.Fprintf(w, "TYPE: %s STATE: %s OWNER: %s\n", ji.typ, ji.state, ji.owner)
	fmt.Fprintf(w, "PRIORITY: %s FILES: %d / %d BYTES: %s / %s\n", ji.priority,
		p.FilesTransferred, p.FilesTotal, byteCount(p.BytesTransferred), byteCount(p.BytesTotal))
	fmt.Fprintf(w, "CREATION TIME: %s MODIFICATION TIME: %s\n", timeText(ji.times.CreationTime), timeText(ji.times.ModificationTime))
	fmt.Fprintf(w, "COMPLETION TIME: %s\n", timeText(ji.times.TransferCompletionTime))
	notify := "UNREGISTERED"
	if ji.notifyRegistered {
		notify = "REGISTERED"
	}
	fmt.Fprintf(w, "NOTIFY INTERFACE: %s NOTIFICATION FLAGS: %d\n", notify, ji.notifyFlags)
	fmt.Fprintf(w, "RETRY DELAY: %d NO PROGRESS TIMEOUT: %d ERROR COUNT: %d\n", ji.minRetryDelay, ji.noProgressTimeout, ji.errorCount)
	fmt.Fprintf(w, "MAXIMUM DOWNLOAD TIME: %d\n", ji.maxDownloadTime)
	fmt.Fprintf(w, "PROXY USAGE: %s PROXY LIST: %s PROXY BYPASS LIST: %s\n", ji.proxy.Usage, nullText(ji.proxy.ProxyList), nullText(ji.proxy.BypassList))
	fmt.Fprintf(w, "DESCRIPTION: %s\n", ji.description)
	if ji.err != nil {
		ji.err.write(w)
	}
	fmt.Fprintf(w, "JOB FILES:\n")
	for _, f := range ji.files {
		st := "WORKING"
		if f.progress.Completed {
			st = "TRANSFERRED"
		}
		fmt.Fprintf(w, "\t%s / %s %s %s -> %s\n", byteCount(f.progress.BytesTransferred), byteCount(f.progress.BytesTotal), st, f.remote, f.local)
	}
	if ji.typ == bits.UploadReply {
		fmt.Fprintf(w, "REPLY FILE: %s REPLY: %s / %s\n", nullText(ji.replyFile),
			byteCount(ji.reply.BytesTransferred), byteCount(ji.reply.BytesTotal))
	}
	if ji.cmdLine.Program == "" {
		fmt.Fprintf(w, "NOTIFICATION COMMAND LINE: none\n")
	} else {
		fmt.Fprintf(w, "NOTIFICATION COMMAND LINE: '%s' '%s'\n", ji.cmdLine.Program, ji.cmdLine.Parameters)
	}
	fmt.Fprintf(w, "owner MIC integrity level: %s\n", integrityName(ji.integrity))
	fmt.Fprintf(w, "owner elevated ?          %t\n", ji.elevated)
	switch {
	case ji.headersErr != nil:
		fmt.Fprintf(w, "CUSTOM HEADERS: (not readable: %s)\n", hresult.Of(ji.headersErr).Name())
	case ji.headers == "":
		fmt.Fprintf(w, "CUSTOM HEADERS: NULL\n")
	default:
		fmt.Fprintf(w, "CUSTOM HEADERS:\n")
		for _, h := range strings.Split(strings.TrimRight(ji.headers, "\r\n"), "\r\n") {
			fmt.Fprintf(w, "\t%s\n", h)
		}
	}
}

// json is the job as a JSON object. Unknown byte totals and times are null; the error is null
// when the job holds none.
func (ji *jobInfo) json() obj {
	p := ji.progress
	var e any
	if ji.err != nil {
		e = ji.err.json()
	}
	o := obj{
		{"id", ji.id},
		{"name", ji.name},
		{"description", ji.description},
		{"type", ji.typ.String()},
		{"state", ji.state.String()},
		{"priority", ji.priority.String()},
		{"owner", ji.owner},
		{"bytes_total", byteJSON(p.BytesTotal)},
		{"bytes_transferred", p.BytesTransferred},
		{"files_total", p.FilesTotal},
		{"files_transferred", p.FilesTransferred},
		{"error_count", ji.errorCount},
		{"error", e},
		{"creation_time", timeJSON(ji.times.CreationTime)},
		{"modification_time", timeJSON(ji.times.ModificationTime)},
		{"completion_time", timeJSON(ji.times.TransferCompletionTime)},
	}
	if !ji.verbose {
		return o
	}
	files := make([]obj, 0, len(ji.files))
	for _, f := range ji.files {
		files = append(files, obj{
			{"remote", f.remote},
			{"local", f.local},
			{"temporary", f.temp},
			{"bytes_total", byteJSON(f.progress.BytesTotal)},
			{"bytes_transferred", f.progress.BytesTransferred},
			{"completed", f.progress.Completed},
		})
	}
	var cmd any
	if ji.cmdLine.Program != "" {
		cmd = obj{{"program", ji.cmdLine.Program}, {"parameters", ji.cmdLine.Parameters}}
	}
	if ji.typ == bits.UploadReply {
		o = append(o, kv{"reply_file", nullJSON(ji.replyFile)},
			kv{"reply_bytes_total", byteJSON(ji.reply.BytesTotal)}, kv{"reply_bytes_transferred", ji.reply.BytesTransferred})
	}
	return append(o,
		kv{"min_retry_delay", ji.minRetryDelay},
		kv{"no_progress_timeout", ji.noProgressTimeout},
		kv{"max_download_time", ji.maxDownloadTime},
		kv{"notify_flags", ji.notifyFlags},
		kv{"notify_cmdline", cmd},
		kv{"proxy", obj{{"usage", ji.proxy.Usage.String()}, {"list", ji.proxy.ProxyList}, {"bypass", ji.proxy.BypassList}}},
		kv{"owner_integrity_level", integrityName(ji.integrity)},
		kv{"owner_elevated", ji.elevated},
		kv{"files", files},
	)
}
