package main

import (
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
func byteJSON(n uint64) *uint64 {
	if n == bits.SizeUnknown {
		return nil
	}
	return &n
}

// timeText prints a time as bitsadmin does (local time, US format), UNKNOWN for none.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "UNKNOWN"
	}
	return t.Local().Format("1/2/2006 3:04:05 PM")
}

// timeJSON is a time for JSON: RFC 3339, null for none.
func timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
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

// errorDoc is a job's error in JSON.
type errorDoc struct {
	Context            string   `json:"context"`
	ContextCode        uint32   `json:"context_code"`
	ContextDescription string   `json:"context_description"`
	Code               string   `json:"code"`
	Name               string   `json:"name"`
	Message            string   `json:"message"`
	Protocol           string   `json:"protocol"`
	File               *nameDoc `json:"file"`
}

// nameDoc is a file's remote and local names in JSON.
type nameDoc struct {
	Remote string `json:"remote"`
	Local  string `json:"local"`
}

func (e *errInfo) json() *errorDoc {
	d := &errorDoc{
		Context:            e.context.String(),
		ContextCode:        uint32(e.context),
		ContextDescription: e.contextText,
		Code:               fmt.Sprintf("0x%08X", uint32(e.code)),
		Name:               e.code.Name(),
		Message:            e.code.Message(),
		Protocol:           e.protocol,
	}
	if e.file != nil {
		d.File = &nameDoc{Remote: e.file.RemoteName, Local: e.file.LocalName}
	}
	return d
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
	aclFlags          uint32
	securityFlags     uint32
	peerFlags         uint32
	httpMethod        string
	dynamic           bool // BITS_JOB_PROPERTY_DYNAMIC_CONTENT
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
	ji.aclFlags, e = j.GetFileACLFlags()
	read(e)
	ji.securityFlags, e = j.GetSecurityFlags()
	read(e)
	ji.peerFlags, e = j.GetPeerCachingFlags()
	read(e)
	ji.httpMethod, e = j.GetHttpMethod()
	read(e)
	dyn, e := j.GetProperty(bits.PropertyDynamicContent)
	read(e)
	ji.dynamic = dyn.Enable
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

// jobDoc is a job in JSON, as /LIST, /INFO and the verbs that follow a job print it. Unknown
// byte totals and times are null; the error is null when the job holds none. The settings and
// files are there only for /VERBOSE.
type jobDoc struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Description      string    `json:"description"`
	Type             string    `json:"type"`
	State            string    `json:"state"`
	Priority         string    `json:"priority"`
	Owner            string    `json:"owner"`
	BytesTotal       *uint64   `json:"bytes_total"`
	BytesTransferred uint64    `json:"bytes_transferred"`
	FilesTotal       uint32    `json:"files_total"`
	FilesTransferred uint32    `json:"files_transferred"`
	ErrorCount       uint32    `json:"error_count"`
	Error            *errorDoc `json:"error"`
	CreationTime     *string   `json:"creation_time"`
	ModificationTime *string   `json:"modification_time"`
	CompletionTime   *string   `json:"completion_time"`
	*verboseDoc
}

// verboseDoc is what /VERBOSE adds to a job in JSON.
type verboseDoc struct {
	*replyDoc
	MinRetryDelay       uint32      `json:"min_retry_delay"`
	NoProgressTimeout   uint32      `json:"no_progress_timeout"`
	MaxDownloadTime     uint32      `json:"max_download_time"`
	NotifyFlags         uint32      `json:"notify_flags"`
	NotifyCmdLine       *cmdLineDoc `json:"notify_cmdline"`
	Proxy               proxyDoc    `json:"proxy"`
	OwnerIntegrityLevel string      `json:"owner_integrity_level"`
	OwnerElevated       bool        `json:"owner_elevated"`
	Files               []fileDoc   `json:"files"`
	ACLFlags            string      `json:"acl_flags"`
	SecurityFlags       uint32      `json:"security_flags"`
	PeerCachingFlags    uint32      `json:"peer_caching_flags"`
	HTTPMethod          string      `json:"http_method"`
	DynamicContent      bool        `json:"dynamic_content"`
}

// replyDoc is an upload-reply job's reply in JSON (only such jobs have one).
type replyDoc struct {
	ReplyFile             *string `json:"reply_file"`
	ReplyBytesTotal       *uint64 `json:"reply_bytes_total"`
	ReplyBytesTransferred uint64  `json:"reply_bytes_transferred"`
}

// cmdLineDoc is a notify command line in JSON.
type cmdLineDoc struct {
	Program    string `json:"program"`
	Parameters string `json:"parameters"`
}

// proxyDoc is a job's proxy settings in JSON.
type proxyDoc struct {
	Usage  string `json:"usage"`
	List   string `json:"list"`
	Bypass string `json:"bypass"`
}

// fileDoc is one file of a job in JSON.
type fileDoc struct {
	Remote           string  `json:"remote"`
	Local            string  `json:"local"`
	Temporary        string  `json:"temporary"`
	BytesTotal       *uint64 `json:"bytes_total"`
	BytesTransferred uint64  `json:"bytes_transferred"`
	Completed        bool    `json:"completed"`
}

func (f *fileInfo) json() fileDoc {
	return fileDoc{Remote: f.remote, Local: f.local, Temporary: f.temp, BytesTotal: byteJSON(f.progress.BytesTotal),
		BytesTransferred: f.progress.BytesTransferred, Completed: f.progress.Completed}
}

// cmdLineJSON is a notify command line for JSON: null for none.
func cmdLineJSON(cl bits.NotifyCmdLine) *cmdLineDoc {
	if cl.Program == "" {
		return nil
	}
	return &cmdLineDoc{Program: cl.Program, Parameters: cl.Parameters}
}

// json is the job in JSON.
func (ji *jobInfo) json() jobDoc {
	p := ji.progress
	d := jobDoc{
		ID:               ji.id,
		Name:             ji.name,
		Description:      ji.description,
		Type:             ji.typ.String(),
		State:            ji.state.String(),
		Priority:         ji.priority.String(),
		Owner:            ji.owner,
		BytesTotal:       byteJSON(p.BytesTotal),
		BytesTransferred: p.BytesTransferred,
		FilesTotal:       p.FilesTotal,
		FilesTransferred: p.FilesTransferred,
		ErrorCount:       ji.errorCount,
		CreationTime:     timeJSON(ji.times.CreationTime),
		ModificationTime: timeJSON(ji.times.ModificationTime),
		CompletionTime:   timeJSON(ji.times.TransferCompletionTime),
	}
	if ji.err != nil {
		d.Error = ji.err.json()
	}
	if !ji.verbose {
		return d
	}
	files := make([]fileDoc, 0, len(ji.files))
	for i := range ji.files {
		files = append(files, ji.files[i].json())
	}
	d.verboseDoc = &verboseDoc{
		MinRetryDelay:       ji.minRetryDelay,
		NoProgressTimeout:   ji.noProgressTimeout,
		MaxDownloadTime:     ji.maxDownloadTime,
		NotifyFlags:         ji.notifyFlags,
		NotifyCmdLine:       cmdLineJSON(ji.cmdLine),
		Proxy:               proxyDoc{Usage: ji.proxy.Usage.String(), List: ji.proxy.ProxyList, Bypass: ji.proxy.BypassList},
		OwnerIntegrityLevel: integrityName(ji.integrity),
		OwnerElevated:       ji.elevated,
		Files:               files,
		ACLFlags:            strings.TrimSuffix(aclText(ji.aclFlags), "NONE"),
		SecurityFlags:       ji.securityFlags,
		PeerCachingFlags:    ji.peerFlags,
		HTTPMethod:          ji.httpMethod,
		DynamicContent:      ji.dynamic,
	}
	if ji.typ == bits.UploadReply {
		d.replyDoc = &replyDoc{ReplyFile: nullJSON(ji.replyFile), ReplyBytesTotal: byteJSON(ji.reply.BytesTotal),
			ReplyBytesTransferred: ji.reply.BytesTransferred}
	}
	return d
}
