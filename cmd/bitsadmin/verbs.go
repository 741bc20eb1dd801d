package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// verbs is every verb, in the order /help lists them. getters adds the /GET verbs.
var verbs []*verbSpec

func init() {
	verbs = []*verbSpec{
		{name: "transfer", syntax: "name [/download|/upload|/upload-reply] [/priority p] [/aclflags ogds] [/dynamic] [/replyfile path] remote local [remote local...]",
			summary: "create a job, add the files, transfer them while showing progress, complete it; the switches, in any order, come before the files (an upload's remote is its URL, its local the file sent)",
			flags:   []string{"download", "upload", "upload-reply", "dynamic"}, values: []string{"priority", "aclflags", "replyfile"}, min: 3, max: -1, optsBefore: 2,
			mode: viaService, prepare: transferPrepare, run: verbTransfer},
		{name: "create", syntax: "[/download|/upload|/upload-reply] name", summary: "create a job (SUSPENDED)",
			flags: []string{"download", "upload", "upload-reply"}, min: 1, max: 1, mode: viaService, run: verbCreate},
		{name: "addfile", syntax: "job remote local", summary: "add a file to a job",
			min: 3, max: 3, mode: viaService, run: verbAddFile},
		{name: "addfileset", syntax: "job listfile", summary: "add the files listed in listfile, one \"remote local\" per line",
			min: 2, max: 2, mode: viaService, run: verbAddFileSet},
		{name: "listfiles", syntax: "job", summary: "list a job's files",
			min: 1, max: 1, mode: viaService, run: verbListFiles},
		{name: "resume", syntax: "job", summary: "queue a job: the service transfers it",
			min: 1, max: 1, mode: viaService, run: verbResume},
		{name: "suspend", syntax: "job", summary: "suspend a job", min: 1, max: 1, mode: viaService, run: verbSuspend},
		{name: "cancel", syntax: "job", summary: "cancel a job and delete its temporary files",
			min: 1, max: 1, mode: viaService, run: verbCancel},
		{name: "complete", syntax: "job", summary: "complete a job: its transferred files appear under their local names",
			min: 1, max: 1, mode: viaService, run: verbComplete},
		{name: "reset", syntax: "[/allusers]", summary: "cancel every job of the user (of every user with /allusers)",
			flags: []string{"allusers"}, min: 0, max: 0, mode: viaService, run: verbReset},
		{name: "list", syntax: "[/allusers] [/verbose]", summary: "list the jobs",
			flags: []string{"allusers", "verbose"}, min: 0, max: 0, mode: viaService, run: verbList},
		{name: "info", syntax: "job [/verbose]", summary: "show a job",
			flags: []string{"verbose"}, min: 1, max: 1, mode: viaService, run: verbInfo},
		{name: "monitor", syntax: "[/allusers] [/refresh sec] [/count n]",
			summary: "show the jobs every sec seconds (5), until Ctrl-C or n refreshes",
			flags:   []string{"allusers"}, values: []string{"refresh", "count"}, min: 0, max: 0, mode: viaService, prepare: monitorPrepare, run: verbMonitor},
		{name: "wait", syntax: "job [/timeout sec]",
			summary: "wait until the job leaves QUEUED/CONNECTING/TRANSFERRING/TRANSIENT_ERROR; exit 0 if TRANSFERRED, 3 if not",
			values:  []string{"timeout"}, min: 1, max: 1, mode: viaService, prepare: waitPrepare, run: verbWait},
	}
	verbs = append(verbs, getterVerbs()...)
	verbs = append(verbs, propertyVerbs()...)
	verbs = append(verbs,
		&verbSpec{name: "setdisplayname", syntax: "job name", summary: "set the display name",
			min: 2, max: 2, mode: viaService, run: verbSetDisplayName},
		&verbSpec{name: "setdescription", syntax: "job text", summary: "set the description",
			min: 2, max: 2, mode: viaService, run: verbSetDescription},
		&verbSpec{name: "setpriority", syntax: "job FOREGROUND|HIGH|NORMAL|LOW", summary: "set the priority",
			min: 2, max: 2, mode: viaService, run: verbSetPriority},
		&verbSpec{name: "setminretrydelay", syntax: "job seconds", summary: "set the minimum retry delay",
			min: 2, max: 2, mode: viaService, run: verbSetUint32("setminretrydelay", "minimum retry delay", (bits.Job).SetMinimumRetryDelay)},
		&verbSpec{name: "setnoprogresstimeout", syntax: "job seconds", summary: "set the no-progress timeout",
			min: 2, max: 2, mode: viaService, run: verbSetUint32("setnoprogresstimeout", "no-progress timeout", (bits.Job).SetNoProgressTimeout)},
		&verbSpec{name: "setmaxdownloadtime", syntax: "job seconds", summary: "set the maximum download time (0: none)",
			min: 2, max: 2, mode: viaService, run: verbSetUint32("setmaxdownloadtime", "maximum download time", (bits.Job).SetMaximumDownloadTime)},
		&verbSpec{name: "setnotifyflags", syntax: "job flags", summary: "set the notify flags (1 transferred, 2 error, 4 disable, 8 modification, ...)",
			min: 2, max: 2, mode: viaService, run: verbSetUint32("setnotifyflags", "notify flags", (bits.Job).SetNotifyFlags)},
		&verbSpec{name: "setnotifycmdline", syntax: "job program parameters", summary: "set the program run on TRANSFERRED and ERROR (NULL NULL: none)",
			min: 3, max: 3, mode: viaService, run: verbSetNotifyCmdLine},
		&verbSpec{name: "setcustomheaders", syntax: "job \"Name: value\"... | job NULL", summary: "set the HTTP headers sent with every request (NULL: none)",
			min: 2, max: -1, mode: viaService, run: verbSetCustomHeaders},
		&verbSpec{name: "setproxysettings", syntax: "job PRECONFIG|AUTODETECT|NO_PROXY | job OVERRIDE list [bypass]",
			summary: "set the proxy usage; OVERRIDE takes a comma-separated proxy list and a bypass list (NULL: none)",
			min:     2, max: 4, mode: viaService, run: verbSetProxySettings},
		&verbSpec{name: "setcredentials", syntax: "job SERVER|PROXY BASIC|DIGEST|NTLM|NEGOTIATE|PASSPORT user password",
			summary: "set the credentials for a target and scheme", min: 5, max: 5, mode: viaService, run: verbSetCredentials},
		&verbSpec{name: "removecredentials", syntax: "job SERVER|PROXY BASIC|DIGEST|NTLM|NEGOTIATE|PASSPORT",
			summary: "remove the credentials of a target and scheme", min: 3, max: 3, mode: viaService, run: verbRemoveCredentials},
		&verbSpec{name: "setreplyfilename", syntax: "job path|NULL", summary: "set where an upload-reply job's reply goes (NULL: a name bitsemu chooses)",
			min: 2, max: 2, mode: viaService, run: verbSetReplyFileName},
		&verbSpec{name: "takeownership", syntax: "job", summary: "make the caller the job's owner (administrators)",
			min: 1, max: 1, mode: viaService, run: verbTakeOwnership},
		&verbSpec{name: "demo", syntax: "[/keep]",
			summary: "download a file from a loopback server with a real job, then a day of retries in virtual time; /keep keeps the file",
			flags:   []string{"keep"}, min: 0, max: 0, mode: noStore, run: verbDemo},
		&verbSpec{name: "service", syntax: "[/foreground] [/allusers]",
			summary: "start the store's service in the background (a no-op when it runs); /foreground runs it in this process until SIGTERM or /shutdown",
			flags:   []string{"foreground", "allusers"}, min: 0, max: 0, mode: noStore, run: verbService},
		&verbSpec{name: "shutdown", syntax: "", summary: "stop the store's service (administrators and the service's own user)",
			min: 0, max: 0, mode: noStore, run: verbShutdown},
		&verbSpec{name: "version", syntax: "", summary: "show bitsadmin's version, the service protocol, and whether the store's service runs",
			min: 0, max: 0, mode: noStore, run: verbVersion},
		&verbSpec{name: "help", syntax: "", summary: "show this help", min: 0, max: -1, mode: noStore, run: verbHelp},
	)
}

// lookupVerb finds a verb by its lower-case name; "?" is /help, and /SETACLFLAGS (the spelling
// of bitsadmin's own example) is /SETACLFLAG.
func lookupVerb(name string) *verbSpec {
	switch name {
	case "?", "h":
		name = "help"
	case "setaclflags":
		name = "setaclflag"
	}
	for _, v := range verbs {
		if v.name == name {
			return v
		}
	}
	return nil
}

// writeUsage prints the command's usage; full adds every verb.
func writeUsage(w io.Writer, full bool) {
	fmt.Fprint(w, `Usage: bitsadmin [/store DIR] [/json] [/rawreturn] [/wrap|/nowrap] /VERB [arguments]

Jobs are named by GUID ({1AC396AD-...}, braces and case optional) or by display name.
Jobs live in the job store: /store DIR, else $BITSEMU_STORE, else bitsemu in the user's
configuration directory. A service owns each store and transfers its jobs; every verb talks to
it over the socket beside the store and starts it when none runs. The service knows you by
your uid (root is an administrator: /allusers, /takeownership). /json prints one JSON document
(a failure too); /rawreturn prints bare values with no newline, for scripts. On a terminal
/nowrap cuts lines at its edge and /wrap lets them wrap (the default, but for /monitor).
`)
	if !full {
		fmt.Fprintln(w, "Run bitsadmin /help for every verb.")
		return
	}
	fmt.Fprint(w, "\nVerbs:\n")
	for _, v := range verbs {
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace("/"+strings.ToUpper(v.name)+" "+v.syntax))
		fmt.Fprintf(w, "      %s\n", v.summary)
	}
	fmt.Fprint(w, `
Exit status: 0 success; 1 a BITS failure (the HRESULT is printed), an ambiguous display name
or another failure; 2 a command line that does not parse; 3 a job /TRANSFER or /WAIT followed
did not end TRANSFERRED (ERROR, SUSPENDED, timed out, interrupted); 4 the store's service could
not be reached or started. With /json a failure is a document too: {"error": {...},
"exit_status": n}.
`)
}

func verbHelp(c *cli, _ *session, _ *args) error {
	writeUsage(c.stdout, true)
	return nil
}

// resultDoc is the outcome of a verb that changes a job, in JSON.
type resultDoc struct {
	ID      string `json:"id"`
	Result  string `json:"result"`
	Message string `json:"message"`
}

// result prints the outcome of a verb that changes a job: text, or a resultDoc in JSON.
func (c *cli) result(j bits.Job, code hresult.Code, text string) error {
	switch {
	case c.json:
		return c.printJSON(resultDoc{ID: guid(j), Result: code.Name(), Message: text})
	case c.raw && code != hresult.S_OK:
		fmt.Fprint(c.stdout, code.Name()) // a success code other than S_OK is what a script needs
	case c.raw:
	default:
		fmt.Fprintln(c.stdout, text)
	}
	return nil
}

// jobArg finds the job named by the first argument, with the usage of the verb name.
func (c *cli) jobArg(s *session, a *args, name string) (bits.Job, error) {
	return c.findJob(s, lookupVerb(name), a.pos[0])
}

func verbCreate(c *cli, s *session, a *args) error {
	v := lookupVerb("create")
	typ, n := bits.Download, 0
	for flag, t := range map[string]bits.JobType{"download": bits.Download, "upload": bits.Upload, "upload-reply": bits.UploadReply} {
		if a.flag(flag) {
			typ = t
			n++
		}
	}
	if n > 1 {
		return usagef(v, "choose one of /download, /upload and /upload-reply")
	}
	j, err := s.client.CreateJob(a.pos[0], typ)
	if err != nil {
		return failed("create the job", err)
	}
	switch {
	case c.json:
		return c.printJSON(struct {
			ID    string `json:"id"`
			Name  string `json:"name"`
			Type  string `json:"type"`
			State string `json:"state"`
		}{guid(j), a.pos[0], typ.String(), "SUSPENDED"})
	case c.raw:
		fmt.Fprint(c.stdout, guid(j))
	default:
		fmt.Fprintf(c.stdout, "Created job %s.\n", guid(j))
	}
	return nil
}

func verbAddFile(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "addfile")
	if err != nil {
		return err
	}
	if err := j.AddFile(a.pos[1], a.pos[2]); err != nil {
		return failed("add the file to job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Added %s -> %s to job.", a.pos[1], a.pos[2]))
}

// readFileSet reads a list file of "remote local" lines; blank lines and lines starting with #
// are skipped.
func readFileSet(v *verbSpec, name string) ([]bits.FileInfo, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read the file list: %w", err)
	}
	defer f.Close()
	var files []bits.FileInfo
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, usagef(v, "%s:%d: want \"remote local\", got %q", name, n, line)
		}
		files = append(files, bits.FileInfo{RemoteName: fields[0], LocalName: fields[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read the file list: %w", err)
	}
	return files, nil
}

func verbAddFileSet(c *cli, s *session, a *args) error {
	v := lookupVerb("addfileset")
	files, err := readFileSet(v, a.pos[1])
	if err != nil {
		return err
	}
	j, err := c.findJob(s, v, a.pos[0])
	if err != nil {
		return err
	}
	// AddFileSet adds every file or none.
	if err := j.AddFileSet(files); err != nil {
		return failed("add the files to job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Added %d file(s) to job.", len(files)))
}

func verbListFiles(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "listfiles")
	if err != nil {
		return err
	}
	files, err := readFiles(j)
	if err != nil {
		return failed("list the files of job "+guid(j), err)
	}
	if c.json {
		out := make([]fileDoc, 0, len(files))
		for i := range files {
			out = append(out, files[i].json())
		}
		return c.printJSON(struct {
			ID    string    `json:"id"`
			Files []fileDoc `json:"files"`
		}{guid(j), out})
	}
	for _, f := range files {
		st := "WORKING"
		if f.progress.Completed {
			st = "TRANSFERRED"
		}
		fmt.Fprintf(c.stdout, "%s / %s %s %s -> %s\n", byteCount(f.progress.BytesTransferred), byteCount(f.progress.BytesTotal), st, f.remote, f.local)
	}
	fmt.Fprintf(c.stdout, "Listed %d file(s).\n", len(files))
	return nil
}

func verbResume(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "resume")
	if err != nil {
		return err
	}
	if err := j.Resume(); err != nil {
		return failed("resume job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, "Job resumed.")
}

func verbSuspend(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "suspend")
	if err != nil {
		return err
	}
	if err := j.Suspend(); err != nil {
		return failed("suspend job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, "Job suspended.")
}

func verbCancel(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "cancel")
	if err != nil {
		return err
	}
	code, err := j.Cancel()
	if err != nil {
		return failed("cancel job "+guid(j), err)
	}
	text := "Job canceled."
	if code == hresult.BG_S_UNABLE_TO_DELETE_FILES {
		text = "Job canceled, but some temporary files could not be deleted (BG_S_UNABLE_TO_DELETE_FILES)."
	}
	return c.result(j, code, text)
}

func verbComplete(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "complete")
	if err != nil {
		return err
	}
	code, err := j.Complete()
	if err != nil {
		return failed("complete job "+guid(j), err)
	}
	text := "Job completed."
	switch code {
	case hresult.BG_S_PARTIAL_COMPLETE:
		text = "Job partially completed: only the files that finished transferring were kept (BG_S_PARTIAL_COMPLETE)."
	case hresult.BG_S_UNABLE_TO_DELETE_FILES:
		text = "Job completed, but some temporary files could not be deleted (BG_S_UNABLE_TO_DELETE_FILES)."
	}
	return c.result(j, code, text)
}

func verbReset(c *cli, s *session, a *args) error {
	var flags uint32
	if a.flag("allusers") {
		flags = bits.EnumAllUsers
	}
	jobs, err := enumJobs(s, flags)
	if err != nil {
		return failed("list the jobs", err)
	}
	var done int
	type jobResult struct {
		ID     string `json:"id"`
		Result string `json:"result"`
	}
	results := []jobResult{}
	var firstErr error
	for _, j := range jobs {
		code, err := j.Cancel()
		if err != nil {
			if firstErr == nil {
				firstErr = failed("cancel job "+guid(j), err)
			}
			results = append(results, jobResult{guid(j), hresult.Of(err).Name()})
			if !c.json {
				printHRESULT(c.stderr, "Unable to cancel job "+guid(j), err, true)
			}
			continue
		}
		done++
		results = append(results, jobResult{guid(j), code.Name()})
		if !c.json {
			fmt.Fprintf(c.stdout, "%s canceled.\n", guid(j))
		}
	}
	if c.json {
		if err := c.printJSON(struct {
			Cancelled int         `json:"cancelled"`
			Total     int         `json:"total"`
			Jobs      []jobResult `json:"jobs"`
		}{done, len(jobs), results}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "%d out of %d jobs canceled.\n", done, len(jobs))
	}
	if firstErr != nil {
		return exitStatus(exitFailure)
	}
	return nil
}

// listInfos reads the jobs the caller may list.
func listInfos(s *session, allUsers, verbose bool) ([]*jobInfo, error) {
	var flags uint32
	if allUsers {
		flags = bits.EnumAllUsers
	}
	jobs, err := enumJobs(s, flags)
	if err != nil {
		return nil, failed("list the jobs", err)
	}
	infos := make([]*jobInfo, 0, len(jobs))
	for _, j := range jobs {
		ji, err := snapshot(j, verbose)
		if err != nil {
			return nil, failed("read job "+guid(j), err)
		}
		infos = append(infos, ji)
	}
	return infos, nil
}

// writeList prints jobs as bitsadmin /list does.
func writeList(w io.Writer, infos []*jobInfo, allUsers, verbose bool) {
	for _, ji := range infos {
		if verbose {
			ji.writeVerbose(w)
			fmt.Fprintln(w)
			continue
		}
		if allUsers {
			fmt.Fprintf(w, "%s %s\n", ji.line(), ji.owner)
		} else {
			fmt.Fprintln(w, ji.line())
		}
	}
	fmt.Fprintf(w, "Listed %d job(s).\n", len(infos))
}

func infosJSON(infos []*jobInfo) []jobDoc {
	out := make([]jobDoc, 0, len(infos))
	for _, ji := range infos {
		out = append(out, ji.json())
	}
	return out
}

func verbList(c *cli, s *session, a *args) error {
	infos, err := listInfos(s, a.flag("allusers"), a.flag("verbose"))
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(infosJSON(infos))
	}
	writeList(c.stdout, infos, a.flag("allusers"), a.flag("verbose"))
	return nil
}

func verbInfo(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "info")
	if err != nil {
		return err
	}
	ji, err := snapshot(j, a.flag("verbose"))
	if err != nil {
		return failed("read job "+guid(j), err)
	}
	switch {
	case c.json:
		return c.printJSON(ji.json())
	case a.flag("verbose"):
		ji.writeVerbose(c.stdout)
	default:
		fmt.Fprintln(c.stdout, ji.line())
	}
	return nil
}

func verbSetDisplayName(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "setdisplayname")
	if err != nil {
		return err
	}
	if err := j.SetDisplayName(a.pos[1]); err != nil {
		return failed("set the display name of job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Display name set to '%s'.", a.pos[1]))
}

func verbSetDescription(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "setdescription")
	if err != nil {
		return err
	}
	if err := j.SetDescription(a.pos[1]); err != nil {
		return failed("set the description of job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Description set to '%s'.", a.pos[1]))
}

// parsePriority reads FOREGROUND, HIGH, NORMAL or LOW, in any case.
func parsePriority(v *verbSpec, s string) (bits.Priority, error) {
	for p := bits.Foreground; p <= bits.Low; p++ {
		if strings.EqualFold(s, p.String()) {
			return p, nil
		}
	}
	return 0, usagef(v, "the priority must be FOREGROUND, HIGH, NORMAL or LOW, not %q", s)
}

func verbSetPriority(c *cli, s *session, a *args) error {
	v := lookupVerb("setpriority")
	p, err := parsePriority(v, a.pos[1])
	if err != nil {
		return err
	}
	j, err := c.findJob(s, v, a.pos[0])
	if err != nil {
		return err
	}
	if err := j.SetPriority(p); err != nil {
		return failed("set the priority of job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Priority set to %s.", p))
}

// verbSetUint32 makes the verb name, which sets one number of a job.
func verbSetUint32(name, what string, set func(bits.Job, uint32) error) func(*cli, *session, *args) error {
	return func(c *cli, s *session, a *args) error {
		v := lookupVerb(name)
		n, err := parseUint32(v, "the "+what, a.pos[1])
		if err != nil {
			return err
		}
		j, err := c.findJob(s, v, a.pos[0])
		if err != nil {
			return err
		}
		if err := set(j, n); err != nil {
			return failed("set the "+what+" of job "+guid(j), err)
		}
		return c.result(j, hresult.S_OK, fmt.Sprintf("%s%s set to %d.", strings.ToUpper(what[:1]), what[1:], n))
	}
}

// nullArg turns bitsadmin's NULL into the empty string, which stands for NULL in bitsemu.
func nullArg(s string) string {
	if strings.EqualFold(s, "NULL") {
		return ""
	}
	return s
}

func verbSetNotifyCmdLine(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "setnotifycmdline")
	if err != nil {
		return err
	}
	program, params := nullArg(a.pos[1]), nullArg(a.pos[2])
	if err := j.SetNotifyCmdLine(program, params); err != nil {
		return failed("set the notify command line of job "+guid(j), err)
	}
	if program == "" {
		return c.result(j, hresult.S_OK, "Notification command line removed.")
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Notification command line set to '%s' '%s'.", program, params))
}

func verbSetReplyFileName(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "setreplyfilename")
	if err != nil {
		return err
	}
	name := nullArg(a.pos[1])
	if err := j.SetReplyFileName(name); err != nil {
		return failed("set the reply file name of job "+guid(j), err)
	}
	if name == "" {
		return c.result(j, hresult.S_OK, "Reply file name removed: bitsemu chooses one.")
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Reply file name set to '%s'.", name))
}

func verbSetCustomHeaders(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "setcustomheaders")
	if err != nil {
		return err
	}
	var headers string
	if !(len(a.pos) == 2 && strings.EqualFold(a.pos[1], "NULL")) {
		headers = strings.Join(a.pos[1:], "\r\n") + "\r\n"
	}
	if err := j.SetCustomHeaders(headers); err != nil {
		return failed("set the custom headers of job "+guid(j), err)
	}
	if headers == "" {
		return c.result(j, hresult.S_OK, "Custom headers removed.")
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Custom headers set (%d).", len(a.pos)-1))
}

// parseProxyUsage reads PRECONFIG, NO_PROXY, OVERRIDE or AUTODETECT, in any case.
func parseProxyUsage(v *verbSpec, s string) (bits.ProxyUsage, error) {
	for u := bits.ProxyPreconfig; u <= bits.ProxyAutodetect; u++ {
		if strings.EqualFold(s, u.String()) || strings.EqualFold(s, strings.ReplaceAll(u.String(), "_", "")) {
			return u, nil
		}
	}
	return 0, usagef(v, "the proxy usage must be PRECONFIG, NO_PROXY, OVERRIDE or AUTODETECT, not %q", s)
}

func verbSetProxySettings(c *cli, s *session, a *args) error {
	v := lookupVerb("setproxysettings")
	usage, err := parseProxyUsage(v, a.pos[1])
	if err != nil {
		return err
	}
	var list, bypass string
	switch {
	case usage == bits.ProxyOverride && len(a.pos) < 3:
		return usagef(v, "OVERRIDE needs a proxy list")
	case usage != bits.ProxyOverride && len(a.pos) > 2:
		return usagef(v, "only OVERRIDE takes a proxy list and a bypass list")
	}
	if len(a.pos) > 2 {
		// bitsadmin takes a comma-separated proxy list; BITS wants it space-separated.
		list = strings.Join(strings.FieldsFunc(nullArg(a.pos[2]), func(r rune) bool { return r == ',' || r == ' ' }), " ")
	}
	if len(a.pos) > 3 {
		bypass = nullArg(a.pos[3])
	}
	j, err := c.findJob(s, v, a.pos[0])
	if err != nil {
		return err
	}
	if err := j.SetProxySettings(usage, list, bypass); err != nil {
		return failed("set the proxy settings of job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Proxy usage set to %s.", usage))
}

var (
	authTargets = map[string]bits.AuthTarget{"SERVER": bits.TargetServer, "PROXY": bits.TargetProxy}
	authSchemes = map[string]bits.AuthScheme{"BASIC": bits.SchemeBasic, "DIGEST": bits.SchemeDigest,
		"NTLM": bits.SchemeNTLM, "NEGOTIATE": bits.SchemeNegotiate, "PASSPORT": bits.SchemePassport}
)

// parseAuth reads a target (SERVER, PROXY) and a scheme (BASIC, ...), in any case.
func parseAuth(v *verbSpec, target, scheme string) (bits.AuthTarget, bits.AuthScheme, error) {
	t, ok := authTargets[strings.ToUpper(target)]
	if !ok {
		return 0, 0, usagef(v, "the target must be SERVER or PROXY, not %q", target)
	}
	sc, ok := authSchemes[strings.ToUpper(scheme)]
	if !ok {
		return 0, 0, usagef(v, "the scheme must be BASIC, DIGEST, NTLM, NEGOTIATE or PASSPORT, not %q", scheme)
	}
	return t, sc, nil
}

func verbSetCredentials(c *cli, s *session, a *args) error {
	v := lookupVerb("setcredentials")
	t, sc, err := parseAuth(v, a.pos[1], a.pos[2])
	if err != nil {
		return err
	}
	j, err := c.findJob(s, v, a.pos[0])
	if err != nil {
		return err
	}
	cr := bits.Credentials{Target: t, Scheme: sc, UserName: nullArg(a.pos[3]), Password: nullArg(a.pos[4])}
	if err := j.SetCredentials(cr); err != nil {
		return failed("set the credentials of job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Credentials set for %s %s.", strings.ToUpper(a.pos[1]), strings.ToUpper(a.pos[2])))
}

func verbRemoveCredentials(c *cli, s *session, a *args) error {
	v := lookupVerb("removecredentials")
	t, sc, err := parseAuth(v, a.pos[1], a.pos[2])
	if err != nil {
		return err
	}
	j, err := c.findJob(s, v, a.pos[0])
	if err != nil {
		return err
	}
	code, err := j.RemoveCredentials(t, sc)
	if err != nil {
		return failed("remove the credentials of job "+guid(j), err)
	}
	text := "Credentials removed."
	if code == hresult.S_FALSE {
		text = "No credentials to remove (S_FALSE)."
	}
	return c.result(j, code, text)
}

func verbTakeOwnership(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "takeownership")
	if err != nil {
		return err
	}
	if err := j.TakeOwnership(); err != nil {
		return failed("take ownership of job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, "Ownership taken.")
}
