package main

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/bitsemu/bitsemu/bits"
)

// getter is a /GET verb: it reads one thing of a job and prints it as text or as JSON members.
type getter struct {
	name, summary string
	get           func(j bits.Job) (text string, fields obj, err error)
}

var getters = []getter{
	{"getstate", "show the job state", func(j bits.Job) (string, obj, error) {
		st, err := j.GetState()
		return st.String(), obj{{"state", st.String()}}, err
	}},
	{"getprogress", "show the files and bytes transferred", func(j bits.Job) (string, obj, error) {
		p, err := j.GetProgress()
		text := fmt.Sprintf("FILES: %d / %d BYTES: %s / %s%s", p.FilesTransferred, p.FilesTotal,
			byteCount(p.BytesTransferred), byteCount(p.BytesTotal), percent(p))
		return text, obj{{"bytes_total", byteJSON(p.BytesTotal)}, {"bytes_transferred", p.BytesTransferred},
			{"files_total", p.FilesTotal}, {"files_transferred", p.FilesTransferred}}, err
	}},
	{"getbytestotal", "show the job's size in bytes (UNKNOWN until every size is known)", func(j bits.Job) (string, obj, error) {
		p, err := j.GetProgress()
		return byteCount(p.BytesTotal), obj{{"bytes_total", byteJSON(p.BytesTotal)}}, err
	}},
	{"getbytestransferred", "show the bytes transferred", func(j bits.Job) (string, obj, error) {
		p, err := j.GetProgress()
		return strconv.FormatUint(p.BytesTransferred, 10), obj{{"bytes_transferred", p.BytesTransferred}}, err
	}},
	{"getfilestotal", "show the number of files", func(j bits.Job) (string, obj, error) {
		p, err := j.GetProgress()
		return strconv.FormatUint(uint64(p.FilesTotal), 10), obj{{"files_total", p.FilesTotal}}, err
	}},
	{"getfilestransferred", "show the number of files transferred", func(j bits.Job) (string, obj, error) {
		p, err := j.GetProgress()
		return strconv.FormatUint(uint64(p.FilesTransferred), 10), obj{{"files_transferred", p.FilesTransferred}}, err
	}},
	{"geterror", "show the job's error: file, HRESULT and context", func(j bits.Job) (string, obj, error) {
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
		return strings.TrimRight(b.String(), "\n"), obj{{"error", e.json()}}, nil
	}},
	{"geterrorcount", "show how many transfer attempts failed", func(j bits.Job) (string, obj, error) {
		n, err := j.GetErrorCount()
		return strconv.FormatUint(uint64(n), 10), obj{{"error_count", n}}, err
	}},
	{"getdisplayname", "show the display name", func(j bits.Job) (string, obj, error) {
		s, err := j.GetDisplayName()
		return s, obj{{"name", s}}, err
	}},
	{"getdescription", "show the description", func(j bits.Job) (string, obj, error) {
		s, err := j.GetDescription()
		return s, obj{{"description", s}}, err
	}},
	{"gettype", "show the job type", func(j bits.Job) (string, obj, error) {
		t, err := j.GetType()
		return t.String(), obj{{"type", t.String()}}, err
	}},
	{"getpriority", "show the priority", func(j bits.Job) (string, obj, error) {
		p, err := j.GetPriority()
		return p.String(), obj{{"priority", p.String()}}, err
	}},
	{"getowner", "show the owner's SID", func(j bits.Job) (string, obj, error) {
		s, err := j.GetOwner()
		return s, obj{{"owner", s}}, err
	}},
	{"getcreationtime", "show when the job was created", func(j bits.Job) (string, obj, error) {
		t, err := j.GetTimes()
		return timeText(t.CreationTime), obj{{"creation_time", timeJSON(t.CreationTime)}}, err
	}},
	{"getmodificationtime", "show when the job last changed", func(j bits.Job) (string, obj, error) {
		t, err := j.GetTimes()
		return timeText(t.ModificationTime), obj{{"modification_time", timeJSON(t.ModificationTime)}}, err
	}},
	{"getcompletiontime", "show when the job became TRANSFERRED (UNKNOWN before)", func(j bits.Job) (string, obj, error) {
		t, err := j.GetTimes()
		return timeText(t.TransferCompletionTime), obj{{"completion_time", timeJSON(t.TransferCompletionTime)}}, err
	}},
	{"getminretrydelay", "show the minimum retry delay in seconds", func(j bits.Job) (string, obj, error) {
		n, err := j.GetMinimumRetryDelay()
		return strconv.FormatUint(uint64(n), 10), obj{{"min_retry_delay", n}}, err
	}},
	{"getnoprogresstimeout", "show the no-progress timeout in seconds", func(j bits.Job) (string, obj, error) {
		n, err := j.GetNoProgressTimeout()
		return strconv.FormatUint(uint64(n), 10), obj{{"no_progress_timeout", n}}, err
	}},
	{"getmaxdownloadtime", "show the maximum download time in seconds", func(j bits.Job) (string, obj, error) {
		n, err := j.GetMaximumDownloadTime()
		return strconv.FormatUint(uint64(n), 10), obj{{"max_download_time", n}}, err
	}},
	{"getnotifyflags", "show the notify flags", func(j bits.Job) (string, obj, error) {
		n, err := j.GetNotifyFlags()
		return strconv.FormatUint(uint64(n), 10), obj{{"notify_flags", n}}, err
	}},
	{"getnotifycmdline", "show the notify command line (NULL: none)", func(j bits.Job) (string, obj, error) {
		cl, err := j.GetNotifyCmdLine()
		if cl.Program == "" {
			return "NULL", obj{{"notify_cmdline", nil}}, err
		}
		return fmt.Sprintf("'%s' '%s'", cl.Program, cl.Parameters),
			obj{{"notify_cmdline", obj{{"program", cl.Program}, {"parameters", cl.Parameters}}}}, err
	}},
	{"getproxyusage", "show the proxy usage", func(j bits.Job) (string, obj, error) {
		p, err := j.GetProxySettings()
		return p.Usage.String(), obj{{"proxy_usage", p.Usage.String()}}, err
	}},
	{"getproxylist", "show the proxy list (NULL: none)", func(j bits.Job) (string, obj, error) {
		p, err := j.GetProxySettings()
		return nullText(p.ProxyList), obj{{"proxy_list", p.ProxyList}}, err
	}},
	{"getproxybypasslist", "show the proxy bypass list (NULL: none)", func(j bits.Job) (string, obj, error) {
		p, err := j.GetProxySettings()
		return nullText(p.BypassList), obj{{"proxy_bypass_list", p.BypassList}}, err
	}},
	{"getreplyfilename", "show where an upload-reply job's reply goes (NULL: no name yet)", func(j bits.Job) (string, obj, error) {
		name, err := j.GetReplyFileName()
		return nullText(name), obj{{"reply_file", nullJSON(name)}}, err
	}},
	{"getreplyprogress", "show the bytes of an upload-reply job's reply (UNKNOWN until it starts)", func(j bits.Job) (string, obj, error) {
		p, err := j.GetReplyProgress()
		text := fmt.Sprintf("REPLY: %s / %s%s", byteCount(p.BytesTransferred), byteCount(p.BytesTotal),
			percent(bits.Progress{BytesTotal: p.BytesTotal, BytesTransferred: p.BytesTransferred}))
		return text, obj{{"reply_bytes_total", byteJSON(p.BytesTotal)}, {"reply_bytes_transferred", p.BytesTransferred}}, err
	}},
	{"getreplydata", "show the reply of a TRANSFERRED upload-reply job, in hexadecimal (at most 1 MB)", func(j bits.Job) (string, obj, error) {
		data, err := j.GetReplyData()
		if data == nil {
			return "NULL", obj{{"reply_size", 0}, {"reply_data", nil}}, err
		}
		return strings.TrimRight(hex.Dump(data), "\n"), obj{{"reply_size", len(data)}, {"reply_data", hex.EncodeToString(data)}}, err
	}},
}

// nullJSON is a string for JSON: null for "".
func nullJSON(s string) any {
	if s == "" {
		return nil
	}
	return s
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
				text, fields, err := g.get(j)
				if err != nil {
					return failed("run /"+strings.ToUpper(g.name)+" on job "+guid(j), err)
				}
				switch {
				case c.json:
					return c.printJSON(append(obj{{"id", guid(j)}}, fields...))
				case c.raw:
					fmt.Fprint(c.stdout, text)
				default:
					fmt.Fprintln(c.stdout, text)
				}
				return nil
			}})
	}
	return out
}
