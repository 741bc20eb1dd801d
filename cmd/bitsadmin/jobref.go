package main

import (
	"strings"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
)

// ambiguousError is a display name that several jobs share.
type ambiguousError struct {
	name string
	jobs []string // one /list line per job
}

func (e *ambiguousError) Error() string { return "display name '" + e.name + "' names several jobs" }

// looksLikeGUID reports whether ref is written as a GUID, in braces ({...}, 38 characters) or
// without (36 characters with hyphens), whether or not its digits are valid.
func looksLikeGUID(ref string) bool {
	s := ref
	if strings.HasPrefix(s, "{") || strings.HasSuffix(s, "}") {
		return true
	}
	return len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-'
}

// parseGUID parses a job GUID with or without braces, in any case.
func parseGUID(ref string) (uuid.UUID, bool) {
	s := ref
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	if len(s) != 36 {
		return uuid.UUID{}, false
	}
	id, err := uuid.Parse(s)
	return id, err == nil
}

// findJob finds the job a command names: by GUID (with or without braces, any case), else by
// display name among the jobs the caller may see (every user's for an administrator). A
// malformed GUID is a usage error; no job by that name is BG_E_NOT_FOUND; a display name several
// jobs share is an ambiguousError.
func (c *cli) findJob(s *session, v *verbSpec, ref string) (bits.Job, error) {
	if looksLikeGUID(ref) {
		id, ok := parseGUID(ref)
		if !ok {
			return nil, usagef(v, "%q is not a valid job GUID (32 hex digits in the 8-4-4-4-12 form, braces optional)", ref)
		}
		j, err := s.client.GetJob(id)
		if err != nil {
			return nil, failed("find job "+ref, err)
		}
		return j, nil
	}
	var flags uint32
	if s.client.Admin() {
		flags = bits.EnumAllUsers
	}
	jobs, err := enumJobs(s, flags)
	if err != nil {
		return nil, failed("list the jobs", err)
	}
	var found []bits.Job
	for _, j := range jobs {
		if name, err := j.GetDisplayName(); err == nil && name == ref {
			found = append(found, j)
		}
	}
	switch len(found) {
	case 0:
		return nil, failed("find job '"+ref+"'", &hresult.Error{Op: "GetJob", Code: hresult.BG_E_NOT_FOUND})
	case 1:
		return found[0], nil
	}
	e := &ambiguousError{name: ref}
	for _, j := range found {
		info, err := snapshot(j, false)
		if err != nil {
			e.jobs = append(e.jobs, job.GUIDString(jobID(j)))
			continue
		}
		e.jobs = append(e.jobs, info.line())
	}
	return nil, e
}

// enumJobs returns the jobs of the queue the caller may list, in creation order.
func enumJobs(s *session, flags uint32) ([]bits.Job, error) {
	en, err := s.client.EnumJobs(flags)
	if err != nil {
		return nil, err
	}
	jobs, _ := bits.All(en)
	return jobs, nil
}
