package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// The verbs in this file reach the job's later interfaces: ranges and remote prefixes
// (IBackgroundCopyJob3), HTTP options (IBackgroundCopyJobHttpOptions), ACL and peer-caching
// flags, and a file's temporary name and validation state.

// propertyVerbs are the verbs /help lists after the getters.
func propertyVerbs() []*verbSpec {
	return []*verbSpec{
		{name: "addfilewithranges", syntax: "job remote local offset:length[,offset:length...]",
			summary: "add a file of which only the ranges are downloaded; a length may be eof (to the end of the file)",
			min:     4, max: 4, mode: viaService, run: verbAddFileWithRanges},
		{name: "replaceremoteprefix", syntax: "job old_prefix new_prefix",
			summary: "change the remote names of the job's files that start with old_prefix",
			min:     3, max: 3, mode: viaService, run: verbReplaceRemotePrefix},
		{name: "makecustomheaderswriteonly", syntax: "job",
			summary: "make the custom headers unreadable for good (/GETCUSTOMHEADERS then fails)",
			min:     1, max: 1, mode: viaService, run: verbMakeCustomHeadersWriteOnly},
		{name: "setsecurityflags", syntax: "job value",
			summary: "set the HTTP security flags (1 CRL check, 2/4/8/0x10 ignore certificate errors, 0x100/0x200 redirect policy, 0x800 HTTPS to HTTP)",
			min:     2, max: 2, mode: viaService, run: verbSetUint32("setsecurityflags", "security flags", (bits.Job).SetSecurityFlags)},
		{name: "setaclflag", syntax: "job [o][g][d][s]",
			summary: "set the ACL flags kept for files from SMB/file sources: o owner, g group, d DACL, s SACL (NULL: none)",
			min:     2, max: 2, mode: viaService, run: verbSetACLFlag},
		{name: "sethttpmethod", syntax: "job method", summary: "set the HTTP method of the job's requests (GET unless set)",
			min: 2, max: 2, mode: viaService, run: verbSetHTTPMethod},
		{name: "setpeercachingflags", syntax: "job value",
			summary: "set the peer-caching flags (1 client, 2 server, 4 disable BranchCache)",
			min:     2, max: 2, mode: viaService, run: verbSetUint32("setpeercachingflags", "peer caching flags", (bits.Job).SetPeerCachingFlags)},
		{name: "gettemporaryname", syntax: "job file_index", summary: "show the temporary name of the job's file (index from 0)",
			min: 2, max: 2, mode: viaService, run: verbFileGetter("gettemporaryname")},
		{name: "getvalidationstate", syntax: "job file_index", summary: "show whether the job's file was marked valid (index from 0)",
			min: 2, max: 2, mode: viaService, run: verbFileGetter("getvalidationstate")},
		{name: "setvalidationstate", syntax: "job file_index TRUE|FALSE", summary: "mark the job's file (index from 0) valid or not",
			min: 3, max: 3, mode: viaService, run: verbSetValidationState},
	}
}

// aclLetters are bitsadmin's letters for the BG_COPY_FILE_* flags, in its order.
var aclLetters = []struct {
	letter byte
	flag   uint32
}{{'o', bits.CopyFileOwner}, {'g', bits.CopyFileGroup}, {'d', bits.CopyFileDACL}, {'s', bits.CopyFileSACL}}

// parseACLFlags reads bitsadmin's ACL letters (o, g, d, s, in any order and case); NULL or 0
// clears them.
func parseACLFlags(v *verbSpec, s string) (uint32, error) {
	if strings.EqualFold(s, "NULL") || s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, usagef(v, "the ACL flags are letters among o (owner), g (group), d (DACL) and s (SACL); NULL for none")
	}
	var flags uint32
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		found := false
		for _, l := range aclLetters {
			if c == l.letter {
				flags |= l.flag
				found = true
			}
		}
		if !found {
			return 0, usagef(v, "the ACL flags are letters among o (owner), g (group), d (DACL) and s (SACL), not %q", s)
		}
	}
	return flags, nil
}

// aclText prints ACL flags as bitsadmin's letters; none is NONE.
func aclText(flags uint32) string {
	var b strings.Builder
	for _, l := range aclLetters {
		if flags&l.flag != 0 {
			b.WriteByte(l.letter)
		}
	}
	if b.Len() == 0 {
		return "NONE"
	}
	return b.String()
}

func verbSetACLFlag(c *cli, s *session, a *args) error {
	v := lookupVerb("setaclflag")
	flags, err := parseACLFlags(v, a.pos[1])
	if err != nil {
		return err
	}
	j, err := c.findJob(s, v, a.pos[0])
	if err != nil {
		return err
	}
	if err := j.SetFileACLFlags(flags); err != nil {
		return failed("set the ACL flags of job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("ACL flags set to %s.", aclText(flags)))
}

func verbSetHTTPMethod(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "sethttpmethod")
	if err != nil {
		return err
	}
	if err := j.SetHttpMethod(a.pos[1]); err != nil {
		return failed("set the HTTP method of job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("HTTP method set to %s.", a.pos[1]))
}

// parseRanges reads bitsadmin's range list: comma-separated offset:length pairs, decimal or 0x
// hexadecimal, where a length may be eof (BG_LENGTH_TO_EOF).
func parseRanges(v *verbSpec, s string) ([]bits.FileRange, error) {
	var out []bits.FileRange
	for _, part := range strings.Split(s, ",") {
		off, length, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, usagef(v, "a range is offset:length, not %q", part)
		}
		o, err := strconv.ParseUint(off, 0, 64)
		if err != nil {
			return nil, usagef(v, "the offset of range %q is not a number", part)
		}
		n := bits.LengthToEOF
		if !strings.EqualFold(length, "eof") {
			if n, err = strconv.ParseUint(length, 0, 64); err != nil || n == bits.LengthToEOF {
				return nil, usagef(v, "the length of range %q is neither a number nor eof", part)
			}
		}
		out = append(out, bits.FileRange{InitialOffset: o, Length: n})
	}
	return out, nil
}

func verbAddFileWithRanges(c *cli, s *session, a *args) error {
	v := lookupVerb("addfilewithranges")
	ranges, err := parseRanges(v, a.pos[3])
	if err != nil {
		return err
	}
	j, err := c.findJob(s, v, a.pos[0])
	if err != nil {
		return err
	}
	if err := j.AddFileWithRanges(a.pos[1], a.pos[2], ranges); err != nil {
		return failed("add the file to job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Added %s -> %s to job (%d range(s)).", a.pos[1], a.pos[2], len(ranges)))
}

func verbReplaceRemotePrefix(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "replaceremoteprefix")
	if err != nil {
		return err
	}
	code, err := j.ReplaceRemotePrefix(a.pos[1], a.pos[2])
	if err != nil {
		return failed("replace the remote prefix of job "+guid(j), err)
	}
	text := fmt.Sprintf("Remote prefix %s replaced by %s.", a.pos[1], a.pos[2])
	if code == hresult.S_FALSE {
		text = fmt.Sprintf("No remote name starts with %s (S_FALSE).", a.pos[1])
	}
	return c.result(j, code, text)
}

func verbMakeCustomHeadersWriteOnly(c *cli, s *session, a *args) error {
	j, err := c.jobArg(s, a, "makecustomheaderswriteonly")
	if err != nil {
		return err
	}
	if err := j.MakeCustomHeadersWriteOnly(); err != nil {
		return failed("make the custom headers of job "+guid(j)+" write-only", err)
	}
	return c.result(j, hresult.S_OK, "Custom headers made write-only.")
}

// fileArg finds the job and its file at the index the second argument gives (from 0, as
// bitsadmin counts).
func (c *cli) fileArg(s *session, a *args, name string) (bits.Job, bits.File, int, error) {
	v := lookupVerb(name)
	idx, err := strconv.ParseUint(a.pos[1], 10, 31)
	if err != nil {
		return nil, nil, 0, usagef(v, "the file index is a number from 0, not %q", a.pos[1])
	}
	j, err := c.findJob(s, v, a.pos[0])
	if err != nil {
		return nil, nil, 0, err
	}
	en, err := j.EnumFiles()
	if err != nil {
		return nil, nil, 0, failed("list the files of job "+guid(j), err)
	}
	files, err := bits.All(en)
	if err != nil {
		return nil, nil, 0, failed("list the files of job "+guid(j), err)
	}
	if int(idx) >= len(files) {
		return nil, nil, 0, failed(fmt.Sprintf("find file %d of job %s", idx, guid(j)),
			&hresult.Error{Op: "EnumFiles", Code: hresult.E_INVALIDARG,
				Err: fmt.Errorf("the job has %d file(s), numbered from 0", len(files))})
	}
	return j, files[idx], int(idx), nil
}

// fileValue is a value of one of a job's files, in JSON.
type fileValue struct {
	ID            string  `json:"id"`
	Index         int     `json:"index"`
	TemporaryName *string `json:"temporary_name,omitempty"`
	Valid         *bool   `json:"valid,omitempty"`
}

// verbFileGetter makes /GETTEMPORARYNAME and /GETVALIDATIONSTATE.
func verbFileGetter(name string) func(*cli, *session, *args) error {
	return func(c *cli, s *session, a *args) error {
		j, f, idx, err := c.fileArg(s, a, name)
		if err != nil {
			return err
		}
		var text string
		var field fileValue
		switch name {
		case "gettemporaryname":
			t, err := f.GetTemporaryName()
			if err != nil {
				return failed("read the temporary name of a file of job "+guid(j), err)
			}
			text, field.TemporaryName = t, &t
		default:
			ok, err := f.GetValidationState()
			if err != nil {
				return failed("read the validation state of a file of job "+guid(j), err)
			}
			text, field.Valid = strings.ToUpper(strconv.FormatBool(ok)), &ok
		}
		field.ID, field.Index = guid(j), idx
		return c.value(text, field)
	}
}

func verbSetValidationState(c *cli, s *session, a *args) error {
	v := lookupVerb("setvalidationstate")
	valid, err := strconv.ParseBool(strings.ToLower(a.pos[2]))
	if err != nil {
		return usagef(v, "the validation state is TRUE or FALSE, not %q", a.pos[2])
	}
	j, f, idx, err := c.fileArg(s, a, "setvalidationstate")
	if err != nil {
		return err
	}
	if err := f.SetValidationState(valid); err != nil {
		return failed("set the validation state of a file of job "+guid(j), err)
	}
	return c.result(j, hresult.S_OK, fmt.Sprintf("Validation state of file %d set to %s.", idx, strings.ToUpper(strconv.FormatBool(valid))))
}
