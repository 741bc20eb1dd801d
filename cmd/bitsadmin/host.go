package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/state"
)

// The verbs in this file follow jobs while the service transfers them.

// transferSpec is what /TRANSFER's arguments ask for.
type transferSpec struct {
	typ     bits.JobType
	prio    bits.Priority
	setPrio bool   // /PRIORITY was given
	acl     uint32 // /ACLFLAGS
	setACL  bool
	dynamic bool // /DYNAMIC: BITS_JOB_PROPERTY_DYNAMIC_CONTENT
	files   []bits.FileInfo

	replyFile string // /REPLYFILE: an upload-reply job's reply file
	setReply  bool
}

// transferOptions reads /TRANSFER's arguments: bitsadmin transfer's syntax is
// name [type] [/PRIORITY p] [/ACLFLAGS flags] [/DYNAMIC] remote local [remote local...], with
// bitsemu's /UPLOAD-REPLY type and /REPLYFILE path besides.
func transferOptions(a *args) (*transferSpec, error) {
	v := lookupVerb("transfer")
	pairs := a.pos[1:]
	if len(pairs)%2 != 0 {
		return nil, usagef(v, "remote and local names come in pairs; %d names given", len(pairs))
	}
	ts := &transferSpec{typ: bits.Download, prio: bits.Normal}
	n := 0
	for _, t := range []bits.JobType{bits.Download, bits.Upload, bits.UploadReply} {
		if a.flag(strings.ReplaceAll(strings.ToLower(t.String()), "_", "-")) {
			ts.typ = t
			n++
		}
	}
	if n > 1 {
		return nil, usagef(v, "choose one of /download, /upload and /upload-reply")
	}
	if name, ok := a.value("replyfile"); ok {
		if ts.typ != bits.UploadReply {
			return nil, usagef(v, "/replyfile is for /upload-reply jobs")
		}
		ts.replyFile, ts.setReply = name, true
	}
	if pname, ok := a.value("priority"); ok {
		p, err := parsePriority(v, pname)
		if err != nil {
			return nil, err
		}
		ts.prio, ts.setPrio = p, true
	}
	if f, ok := a.value("aclflags"); ok {
		acl, err := parseACLFlags(v, f)
		if err != nil {
			return nil, err
		}
		ts.acl, ts.setACL = acl, true
	}
	ts.dynamic = a.flag("dynamic")
	ts.files = make([]bits.FileInfo, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		ts.files = append(ts.files, bits.FileInfo{RemoteName: pairs[i], LocalName: pairs[i+1]})
	}
	return ts, nil
}

// transferPrepare creates /TRANSFER's job, applies the switches and adds every file (and so
// checks them); if a step fails the job is cancelled, so nothing is left behind.
func transferPrepare(c *cli, s *session, a *args) error {
	ts, err := transferOptions(a)
	if err != nil {
		return err
	}
	j, err := s.client.CreateJob(a.pos[0], ts.typ)
	if err != nil {
		return failed("create the job", err)
	}
	abandon := func(what string, err error) error {
		_, _ = j.Cancel()
		return &bitsError{what: what + " (the job was cancelled)", err: err, noState: true}
	}
	if ts.setPrio {
		if err := j.SetPriority(ts.prio); err != nil {
			return abandon("set the priority", err)
		}
	}
	if ts.setACL {
		if err := j.SetFileACLFlags(ts.acl); err != nil {
			return abandon("set the ACL flags", err)
		}
	}
	if ts.dynamic {
		if err := j.SetProperty(bits.PropertyDynamicContent, bits.PropertyValue{Enable: true}); err != nil {
			return abandon("mark the content dynamic", err)
		}
	}
	if err := j.AddFileSet(ts.files); err != nil {
		return abandon("add the files", err)
	}
	if ts.setReply {
		if err := j.SetReplyFileName(ts.replyFile); err != nil {
			return abandon("set the reply file name", err)
		}
	}
	a.id, a.created = jobID(j), true
	return nil
}

// transferDoc is the job /TRANSFER followed, in JSON, with how it ended.
type transferDoc struct {
	jobDoc
	Result     string `json:"result"`
	FinalState string `json:"final_state"`
}

// printEnd prints, under /json, the job /TRANSFER gives up on, as it is before it is cancelled:
// how it ended (ERROR, INTERRUPTED, or the state it left for) and that it ends CANCELLED.
func (c *cli) printEnd(j bits.Job, result string) {
	if !c.json {
		return
	}
	if ji, err := snapshot(j, false); err == nil {
		_ = c.printJSON(transferDoc{jobDoc: ji.json(), Result: result, FinalState: "CANCELLED"})
	}
}

// verbTransfer is /TRANSFER: one job, start to finish. transferPrepare made the job.
func verbTransfer(c *cli, s *session, a *args) error {
	ts, _ := transferOptions(a)
	prio, files := ts.prio, ts.files
	name := a.pos[0]
	j, err := s.client.GetJob(a.id)
	if err != nil {
		return failed("find the new job "+job.GUIDString(a.id), err)
	}
	typ, _ := j.GetType()
	if err := j.Resume(); err != nil {
		_, _ = j.Cancel()
		return &bitsError{what: "resume the job (the job was cancelled)", err: err, noState: true}
	}
	if !c.json {
		fmt.Fprintf(c.stdout, "DISPLAY: '%s' TYPE: %s PRIORITY: %s\n", name, typ, prio)
		fmt.Fprintf(c.stdout, "Transferring job %s; Ctrl-C cancels it.\n", guid(j))
	}
	var pv *progressView
	if !c.json {
		pv = c.progress(c.stdout)
	}
	st, werr := watchOwn(c.ctx, j, pv)
	if pv != nil {
		pv.end()
	}
	if werr != nil {
		c.printEnd(j, "INTERRUPTED")
		_, _ = j.Cancel()
		fmt.Fprintf(c.stderr, "Transfer interrupted (%v); job %s cancelled.\n", werr, guid(j))
		return exitStatus(exitNotTransferred)
	}
	switch st {
	case state.Transferred:
		ji, _ := snapshot(j, true)
		code, err := j.Complete()
		if err != nil {
			return failed("complete job "+guid(j)+" (it stays TRANSFERRED; try /COMPLETE again)", err)
		}
		if c.json {
			return c.printJSON(transferDoc{jobDoc: ji.json(), Result: code.Name(), FinalState: "ACKNOWLEDGED"})
		}
		fmt.Fprintln(c.stdout, "Transfer complete.")
		for _, f := range files {
			if typ == bits.Download {
				fmt.Fprintf(c.stdout, "  %s -> %s\n", f.RemoteName, f.LocalName)
			} else {
				fmt.Fprintf(c.stdout, "  %s -> %s\n", f.LocalName, f.RemoteName)
			}
		}
		if typ == bits.UploadReply {
			fmt.Fprintf(c.stdout, "  reply -> %s\n", ji.replyFile)
		}
		return nil
	case state.Error:
		e, _ := readError(j)
		c.printEnd(j, "ERROR")
		if e != nil {
			fmt.Fprintf(c.stderr, "Transfer failed: %s\n", e.code.Error())
			e.write(c.stderr)
		} else {
			fmt.Fprintln(c.stderr, "Transfer failed: the job is in ERROR.")
		}
		_, _ = j.Cancel()
		fmt.Fprintf(c.stderr, "Job %s cancelled.\n", guid(j))
		return exitStatus(exitNotTransferred)
	default:
		c.printEnd(j, st.String())
		_, _ = j.Cancel()
		fmt.Fprintf(c.stderr, "Transfer stopped: the job became %s; job %s cancelled.\n", st, guid(j))
		return exitStatus(exitNotTransferred)
	}
}

// waitTimeout reads /WAIT's /timeout: whether one was given, and its length.
func waitTimeout(a *args) (bool, time.Duration, error) {
	t, ok := a.value("timeout")
	if !ok {
		return false, 0, nil
	}
	d, err := parseSeconds(lookupVerb("wait"), "timeout", t)
	return true, d, err
}

// waitPrepare checks /WAIT's arguments and finds its job.
func waitPrepare(c *cli, s *session, a *args) error {
	if _, _, err := waitTimeout(a); err != nil {
		return err
	}
	j, err := c.findJob(s, lookupVerb("wait"), a.pos[0])
	if err != nil {
		return err
	}
	a.id = jobID(j)
	return nil
}

// verbWait is /WAIT: wait until the job leaves the action states.
func verbWait(c *cli, s *session, a *args) error {
	ctx := c.ctx
	if ok, d, _ := waitTimeout(a); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	j, err := s.client.GetJob(a.id)
	if err != nil {
		return failed("find job "+job.GUIDString(a.id), err)
	}
	var pv *progressView
	if !c.json && c.isTerminal() {
		pv = c.progress(c.stdout)
	}
	st, werr := watch(ctx, j, pv)
	if pv != nil {
		pv.end()
	}
	interrupted := c.ctx.Err() != nil
	timedOut := werr != nil && !interrupted && errors.Is(werr, context.DeadlineExceeded)
	if werr != nil && !interrupted && !timedOut {
		return failed("read job "+guid(j), werr)
	}
	if c.json {
		ji, err := snapshot(j, false)
		if err != nil {
			return failed("read job "+guid(j), err)
		}
		if err := c.printJSON(struct {
			jobDoc
			TimedOut    bool `json:"timed_out"`
			Interrupted bool `json:"interrupted"`
		}{ji.json(), timedOut, interrupted}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(c.stdout, st)
	}
	switch {
	case werr == nil && st == state.Transferred:
		return nil
	case timedOut:
		fmt.Fprintf(c.stderr, "Timed out: job %s is %s.\n", guid(j), st)
	case interrupted:
		fmt.Fprintf(c.stderr, "Interrupted: job %s is %s.\n", guid(j), st)
	case st == state.Error:
		if e, _ := readError(j); e != nil {
			fmt.Fprintf(c.stderr, "Job %s is in ERROR: %s\n", guid(j), e.code.Error())
		}
	case st == state.Suspended:
		fmt.Fprintf(c.stderr, "Job %s is SUSPENDED: /RESUME it first.\n", guid(j))
	}
	return exitStatus(exitNotTransferred)
}

// monitorOptions reads /MONITOR's /refresh and /count.
func monitorOptions(a *args) (refresh time.Duration, count uint32, err error) {
	v := lookupVerb("monitor")
	refresh = 5 * time.Second
	if r, ok := a.value("refresh"); ok {
		d, err := parseSeconds(v, "refresh", r)
		if err != nil {
			return 0, 0, err
		}
		refresh = max(d, 10*time.Millisecond)
	}
	if n, ok := a.value("count"); ok {
		if count, err = parseUint32(v, "the count", n); err != nil {
			return 0, 0, err
		}
	}
	return refresh, count, nil
}

// monitorPrepare checks /MONITOR's arguments and the caller's right to list.
func monitorPrepare(c *cli, s *session, a *args) error {
	if _, _, err := monitorOptions(a); err != nil {
		return err
	}
	_, err := listInfos(s, a.flag("allusers"), false)
	return err
}

// verbMonitor is /MONITOR: show the jobs at every refresh.
func verbMonitor(c *cli, s *session, a *args) error {
	refresh, count, _ := monitorOptions(a)
	all := a.flag("allusers")
	tty := !c.json && c.isTerminal()
	type refreshDoc struct {
		Time *string  `json:"time"`
		Jobs []jobDoc `json:"jobs"`
	}
	snaps := []refreshDoc{}
	t := time.NewTicker(refresh)
	defer t.Stop()
refreshes:
	for i := uint32(0); count == 0 || i < count; i++ {
		if i > 0 {
			select {
			case <-c.ctx.Done():
				break refreshes
			case <-t.C:
			}
		}
		infos, err := listInfos(s, all, false)
		if err != nil {
			return err
		}
		now := time.Now()
		switch {
		case c.json && count > 0:
			snaps = append(snaps, refreshDoc{timeJSON(now), infosJSON(infos)})
		case c.json:
			b, err := json.Marshal(refreshDoc{timeJSON(now), infosJSON(infos)})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s\n", b)
		default:
			var b strings.Builder
			fmt.Fprintf(&b, "MONITORING BACKGROUND COPY MANAGER (%g second refresh) %s\n",
				refresh.Seconds(), now.Format("2006-01-02 15:04:05"))
			writeList(&b, infos, all, false)
			if tty {
				w, h := c.termSize()
				fmt.Fprint(c.stdout, screen(strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n"), w, h, c.wraps(false)))
			} else {
				fmt.Fprintln(c.stdout, b.String())
			}
		}
	}
	if c.json && count > 0 {
		return c.printJSON(snaps)
	}
	return nil
}

// screen is a /MONITOR refresh for a terminal width by height: the cursor to the top left, each
// line cut to width-1 columns (unless wrap: then a long line takes several rows) and the rest of
// its row erased, no more rows than height-1 (the last line saying how many lines were left
// out), and the rest of the screen erased. Nothing scrolls.
func screen(lines []string, width, height int, wrap bool) string {
	width = max(width, 2)
	rows := func(l string) int {
		if !wrap {
			return 1
		}
		return max(1, (utf8.RuneCountInString(l)+width-1)/width)
	}
	room := max(height-1, 1)
	used, fit := 0, 0
	for fit < len(lines) && used+rows(lines[fit]) <= room {
		used += rows(lines[fit])
		fit++
	}
	if fit < len(lines) {
		for fit > 0 && used+1 > room { // room for the line that says what was left out
			fit--
			used -= rows(lines[fit])
		}
		lines = append(lines[:fit:fit], fmt.Sprintf("... %d more line(s); widen or heighten the terminal", len(lines)-fit))
	}
	var b strings.Builder
	b.WriteString("\x1b[H")
	for _, l := range lines {
		if !wrap {
			l = truncate(l, width-1)
		}
		b.WriteString(l)
		b.WriteString("\x1b[K\r\n")
	}
	b.WriteString("\x1b[J")
	return b.String()
}
