package main

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/bitsemu/bitsemu/bits"
)

// getter is a /GET verb: it reads one thing of a job and prints it as text, or as a JSON document
// that names the job (id) and the thing.
type getter struct {
	name, summary string
	get           func(j bits.Job, id string) (text string, doc any, err error)
}

// The JSON documents of the getters: the job's id and the value, under the name /INFO /JSON
// gives it.
type (
	stateDoc struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	progressDoc struct {
		ID               string  `json:"id"`
		BytesTotal       *uint64 `json:"bytes_total"`
		BytesTransferred uint64  `json:"bytes_transferred"`
		FilesTotal       uint32  `json:"files_total"`
		FilesTransferred uint32  `json:"files_transferred"`
	}
	bytesTotalDoc struct {
		ID         string  `json:"id"`
		BytesTotal *uint64 `json:"bytes_total"`
	}
	bytesTransferredDoc struct {
		ID               string `json:"id"`
		BytesTransferred uint64 `json:"bytes_transferred"`
	}
	filesTotalDoc struct {
		ID         string `json:"id"`
		FilesTotal uint32 `json:"files_total"`
	}
	filesTransferredDoc struct {
		ID               string `json:"id"`
		FilesTransferred uint32 `json:"files_transferred"`
	}
	errorGetDoc struct {
		ID    string    `json:"id"`
		Error *errorDoc `json:"error"`
	}
	errorCountDoc struct {
		ID         string `json:"id"`
		ErrorCount uint32 `json:"error_count"`
	}
	displayNameDoc struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	descriptionDoc struct {
		ID          string `json:"id"`
		Description string `json:"description"`
	}
	typeDoc struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	priorityDoc struct {
		ID       string `json:"id"`
		Priority string `json:"priority"`
	}
	ownerDoc struct {
		ID    string `json:"id"`
		Owner string `json:"owner"`
	}
	creationDoc struct {
		ID           string  `json:"id"`
		CreationTime *string `json:"creation_time"`
	}
	modificationDoc struct {
		ID               string  `json:"id"`
		ModificationTime *string `json:"modification_time"`
	}
	completionDoc struct {
		ID             string  `json:"id"`
		CompletionTime *string `json:"completion_time"`
	}
	minRetryDelayDoc struct {
		ID            string `json:"id"`
		MinRetryDelay uint32 `json:"min_retry_delay"`
	}
	noProgressTimeoutDoc struct {
		ID                string `json:"id"`
		NoProgressTimeout uint32 `json:"no_progress_timeout"`
	}
	maxDownloadTimeDoc struct {
		ID              string `json:"id"`
		MaxDownloadTime uint32 `json:"max_download_time"`
	}
	notifyFlagsDoc struct {
		ID          string `json:"id"`
		NotifyFlags uint32 `json:"notify_flags"`
	}
	notifyCmdLineDoc struct {
		ID            string      `json:"id"`
		NotifyCmdLine *cmdLineDoc `json:"notify_cmdline"`
	}
	notifyInterfaceDoc struct {
		ID               string `json:"id"`
		NotifyRegistered bool   `json:"notify_interface_registered"`
	}
	proxyUsageDoc struct {
		ID         string `json:"id"`
		ProxyUsage string `json:"proxy_usage"`
	}
	proxyListDoc struct {
		ID        string `json:"id"`
		ProxyList string `json:"proxy_list"`
	}
	proxyBypassDoc struct {
		ID              string `json:"id"`
		ProxyBypassList string `json:"proxy_bypass_list"`
	}
	customHeadersDoc struct {
		ID            string   `json:"id"`
		CustomHeaders []string `json:"custom_headers"`
	}
	securityFlagsDoc struct {
		ID            string `json:"id"`
		SecurityFlags uint32 `json:"security_flags"`
	}
	aclFlagsDoc struct {
		ID       string `json:"id"`
		ACLFlags string `json:"acl_flags"`
		Value    uint32 `json:"acl_flags_value"`
	}
	httpMethodDoc struct {
		ID         string `json:"id"`
		HTTPMethod string `json:"http_method"`
	}
	peerCachingDoc struct {
		ID               string `json:"id"`
		PeerCachingFlags uint32 `json:"peer_caching_flags"`
	}
	replyFileDoc struct {
		ID        string  `json:"id"`
		ReplyFile *string `json:"reply_file"`
	}
	replyProgressDoc struct {
		ID                    string  `json:"id"`
		ReplyBytesTotal       *uint64 `json:"reply_bytes_total"`
		ReplyBytesTransferred uint64  `json:"reply_bytes_transferred"`
	}
	replyDataDoc struct {
		ID        string  `json:"id"`
		ReplySize int     `json:"reply_size"`
		ReplyData *string `json:"reply_data"`
	}
)

func u32(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

var getters = []getter{
	{"getstate", "show the job state", func(j bits.Job, id string) (string, any, error) {
		st, err := j.GetState()
		return st.String(), stateDoc{id, st.String()}, err
	}},
	{"getprogress", "show the files and bytes transferred", func(j bits.Job, id string) (string, any, error) {
		p, err := j.GetProgress()
		text := fmt.Sprintf("FILES: %d / %d BYTES: %s / %s%s", p.FilesTransferred, p.FilesTotal,
			byteCount(p.BytesTransferred), byteCount(p.BytesTotal), percent(p))
		return text, progressDoc{id, byteJSON(p.BytesTotal), p.BytesTransferred, p.FilesTotal, p.FilesTransferred}, err
	}},
	{"getbytestotal", "show the job's size in bytes (UNKNOWN until every size is known)", func(j bits.Job, id string) (string, any, error) {
		p, err := j.GetProgress()
		return byteCount(p.BytesTotal), bytesTotalDoc{id, byteJSON(p.BytesTotal)}, err
	}},
	{"getbytestransferred", "show the bytes transferred", func(j bits.Job, id string) (string, any, error) {
		p, err := j.GetProgress()
		return strconv.FormatUint(p.BytesTransferred, 10), bytesTransferredDoc{id, p.BytesTransferred}, err
	}},
	{"getfilestotal", "show the number of files", func(j bits.Job, id string) (string, any, error) {
		p, err := j.GetProgress()
		return u32(p.FilesTotal), filesTotalDoc{id, p.FilesTotal}, err
	}},
	{"getfilestransferred", "show the number of files transferred", func(j bits.Job, id string) (string, any, error) {
		p, err := j.GetProgress()
		return u32(p.FilesTransferred), filesTransferredDoc{id, p.FilesTransferred}, err
	}},
	{"geterror", "show the job's error: file, HRESULT and context", func(j bits.Job, id string) (string, any, error) {
		// GetError itself, so that a job without an error gives BG_E_ERROR_INFORMATION_UNAVAILABLE.
		if _, err := j.GetError(); err != nil {
			return "", nil, err
		}
		e, err := readError(j)
		if err != nil || e == nil {
			return "", nil, err
		}
		var b strings.Builder
		e.write(&b)
		return strings.TrimRight(b.String(), "\n"), errorGetDoc{id, e.json()}, nil
	}},
	{"geterrorcount", "show how many transfer attempts failed", func(j bits.Job, id string) (string, any, error) {
		n, err := j.GetErrorCount()
		return u32(n), errorCountDoc{id, n}, err
	}},
	{"getdisplayname", "show the display name", func(j bits.Job, id string) (string, any, error) {
		s, err := j.GetDisplayName()
		return s, displayNameDoc{id, s}, err
	}},
	{"getdescription", "show the description", func(j bits.Job, id string) (string, any, error) {
		s, err := j.GetDescription()
		return s, descriptionDoc{id, s}, err
	}},
	{"gettype", "show the job type", func(j bits.Job, id string) (string, any, error) {
		t, err := j.GetType()
		return t.String(), typeDoc{id, t.String()}, err
	}},
	{"getpriority", "show the priority", func(j bits.Job, id string) (string, any, error) {
		p, err := j.GetPriority()
		return p.String(), priorityDoc{id, p.String()}, err
	}},
	{"getowner", "show the owner's SID", func(j bits.Job, id string) (string, any, error) {
		s, err := j.GetOwner()
		return s, ownerDoc{id, s}, err
	}},
	{"getcreationtime", "show when the job was created", func(j bits.Job, id string) (string, any, error) {
		t, err := j.GetTimes()
		return timeText(t.CreationTime), creationDoc{id, timeJSON(t.CreationTime)}, err
	}},
	{"getmodificationtime", "show when the job last changed", func(j bits.Job, id string) (string, any, error) {
		t, err := j.GetTimes()
		return timeText(t.ModificationTime), modificationDoc{id, timeJSON(t.ModificationTime)}, err
	}},
	{"getcompletiontime", "show when the job became TRANSFERRED (UNKNOWN before)", func(j bits.Job, id string) (string, any, error) {
		t, err := j.GetTimes()
		return timeText(t.TransferCompletionTime), completionDoc{id, timeJSON(t.TransferCompletionTime)}, err
	}},
	{"getminretrydelay", "show the minimum retry delay in seconds", func(j bits.Job, id string) (string, any, error) {
		n, err := j.GetMinimumRetryDelay()
		return u32(n), minRetryDelayDoc{id, n}, err
	}},
	{"getnoprogresstimeout", "show the no-progress timeout in seconds", func(j bits.Job, id string) (string, any, error) {
		n, err := j.GetNoProgressTimeout()
		return u32(n), noProgressTimeoutDoc{id, n}, err
	}},
	{"getmaxdownloadtime", "show the maximum download time in seconds", func(j bits.Job, id string) (string, any, error) {
		n, err := j.GetMaximumDownloadTime()
		return u32(n), maxDownloadTimeDoc{id, n}, err
	}},
	{"getnotifyflags", "show the notify flags", func(j bits.Job, id string) (string, any, error) {
		n, err := j.GetNotifyFlags()
		return u32(n), notifyFlagsDoc{id, n}, err
	}},
	{"getnotifycmdline", "show the notify command line (NULL: none)", func(j bits.Job, id string) (string, any, error) {
		cl, err := j.GetNotifyCmdLine()
		if cl.Program == "" {
			return "NULL", notifyCmdLineDoc{id, nil}, err
		}
		return fmt.Sprintf("'%s' '%s'", cl.Program, cl.Parameters), notifyCmdLineDoc{id, cmdLineJSON(cl)}, err
	}},
	{"getnotifyinterface", "show whether a notify interface is registered (REGISTERED or UNREGISTERED)", func(j bits.Job, id string) (string, any, error) {
		cb, err := j.GetNotifyInterface()
		if cb != nil {
			return "REGISTERED", notifyInterfaceDoc{id, true}, err
		}
		return "UNREGISTERED", notifyInterfaceDoc{id, false}, err
	}},
	{"getproxyusage", "show the proxy usage", func(j bits.Job, id string) (string, any, error) {
		p, err := j.GetProxySettings()
		return p.Usage.String(), proxyUsageDoc{id, p.Usage.String()}, err
	}},
	{"getproxylist", "show the proxy list (NULL: none)", func(j bits.Job, id string) (string, any, error) {
		p, err := j.GetProxySettings()
		return nullText(p.ProxyList), proxyListDoc{id, p.ProxyList}, err
	}},
	{"getproxybypasslist", "show the proxy bypass list (NULL: none)", func(j bits.Job, id string) (string, any, error) {
		p, err := j.GetProxySettings()
		return nullText(p.BypassList), proxyBypassDoc{id, p.BypassList}, err
	}},
	{"getcustomheaders", "show the custom HTTP headers, one a line (NULL: none); fails once made write-only", func(j bits.Job, id string) (string, any, error) {
		h, _, err := j.GetCustomHeaders()
		lines := []string{}
		if t := strings.TrimRight(h, "\r\n"); t != "" {
			lines = strings.Split(t, "\r\n")
		}
		if len(lines) == 0 {
			return "NULL", customHeadersDoc{id, lines}, err
		}
		return strings.Join(lines, "\n"), customHeadersDoc{id, lines}, err
	}},
	{"getsecurityflags", "show the HTTP security flags", func(j bits.Job, id string) (string, any, error) {
		n, err := j.GetSecurityFlags()
		return fmt.Sprintf("0x%04X", n), securityFlagsDoc{id, n}, err
	}},
	{"getaclflags", "show the ACL flags as letters: o owner, g group, d DACL, s SACL (NONE: none)", func(j bits.Job, id string) (string, any, error) {
		n, err := j.GetFileACLFlags()
		return aclText(n), aclFlagsDoc{id, strings.TrimSuffix(aclText(n), "NONE"), n}, err
	}},
	{"gethttpmethod", "show the HTTP method", func(j bits.Job, id string) (string, any, error) {
		m, err := j.GetHttpMethod()
		return m, httpMethodDoc{id, m}, err
	}},
	{"getpeercachingflags", "show the peer-caching flags", func(j bits.Job, id string) (string, any, error) {
		n, err := j.GetPeerCachingFlags()
		return fmt.Sprintf("0x%X", n), peerCachingDoc{id, n}, err
	}},
	{"getreplyfilename", "show where an upload-reply job's reply goes (NULL: no name yet)", func(j bits.Job, id string) (string, any, error) {
		name, err := j.GetReplyFileName()
		return nullText(name), replyFileDoc{id, nullJSON(name)}, err
	}},
	{"getreplyprogress", "show the bytes of an upload-reply job's reply (UNKNOWN until it starts)", func(j bits.Job, id string) (string, any, error) {
		p, err := j.GetReplyProgress()
		text := fmt.Sprintf("REPLY: %s / %s%s", byteCount(p.BytesTransferred), byteCount(p.BytesTotal),
			percent(bits.Progress{BytesTotal: p.BytesTotal, BytesTransferred: p.BytesTransferred}))
		return text, replyProgressDoc{id, byteJSON(p.BytesTotal), p.BytesTransferred}, err
	}},
	{"getreplydata", "show the reply of a TRANSFERRED upload-reply job, in hexadecimal (at most 1 MB)", func(j bits.Job, id string) (string, any, error) {
		data, err := j.GetReplyData()
		if data == nil {
			return "NULL", replyDataDoc{id, 0, nil}, err
		}
		h := hex.EncodeToString(data)
		return strings.TrimRight(hex.Dump(data), "\n"), replyDataDoc{id, len(data), &h}, err
	}},
}

// nullJSON is a string for JSON: null for "".
func nullJSON(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// value prints a getter's value: text, bare with /rawreturn, or doc with /json.
func (c *cli) value(text string, doc any) error {
	switch {
	case c.json:
		return c.printJSON(doc)
	case c.raw:
		fmt.Fprint(c.stdout, text)
	default:
		fmt.Fprintln(c.stdout, text)
	}
	return nil
}

// getterVerbs makes a verb of each getter.
func getterVerbs() []*verbSpec {
	out := make([]*verbSpec, 0, len(getters))
	for _, g := range getters {
		out = append(out, &verbSpec{name: g.name, syntax: "job", summary: g.summary, min: 1, max: 1, mode: viaService,
			run: func(c *cli, s *session, a *args) error {
				j, err := c.findJob(s, lookupVerb(g.name), a.pos[0])
				if err != nil {
					return err
				}
				text, doc, err := g.get(j, guid(j))
				if err != nil {
					return failed("run /"+strings.ToUpper(g.name)+" on job "+guid(j), err)
				}
				return c.value(text, doc)
			}})
	}
	return out
}
