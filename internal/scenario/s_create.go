package scenario

import (
	"strings"

	"github.com/google/uuid"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

const (
	sOK = hresult.S_OK
)

// Get calls a getter, records its HRESULT under key and, when it succeeded, its value under
// key+" value" against want.
func Get[T any](e *Env, key string, get func() (T, error), want any) (T, bool) {
	v, err := get()
	if !e.HR(key, err, sOK) {
		return v, false
	}
	return v, e.Eq(key+" value", v, want)
}

// Same calls a getter of a name that differs from run to run (a URL with a port, a path, a
// display name with the run's marker) and records whether it gives want, not the name itself.
func Same(e *Env, key string, get func() (string, error), want string) bool {
	v, err := get()
	if !e.HR(key, err, sOK) {
		return false
	}
	return e.True(key+" gives the name set", v == want)
}

// createOfType is a scenario creating a job of type t: a new job of the type asked for, in
// SUSPENDED.
func createOfType(name string, t bits.JobType) Scenario {
	return Scenario{Name: name, Docs: []string{"IBackgroundCopyManager::CreateJob", "BG_JOB_TYPE"}, Run: func(e *Env) {
		j := e.CreateJob(e.Marker(), t)
		Get(e, "GetType", j.GetType, t)
		Get(e, "GetState", j.GetState, state.Suspended)
	}}
}

// refusedCreate calls CreateJob with arguments it must refuse and records the HRESULT.
func (e *Env) refusedCreate(key, name string, t bits.JobType, want hresult.Code) {
	j, err := e.M.CreateJob(name, t)
	if err == nil {
		e.Track(j)
	}
	e.HR(key, err, want)
}

// createScenarios: CreateJob and the job's names.
func createScenarios() []Scenario {
	return []Scenario{
		{
			Name: "create/download",
			Docs: []string{"IBackgroundCopyManager::CreateJob", "IBackgroundCopyJob::GetType", "Life Cycle of a BITS Job", "IBackgroundCopyManager::GetJob"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				Get(e, "GetType", j.GetType, bits.Download)
				Get(e, "GetState", j.GetState, state.Suspended)
				Same(e, "GetDisplayName", j.GetDisplayName, e.Marker())
				id, err := j.GetId()
				if e.HR("GetId", err, sOK) {
					e.True("id is not GUID_NULL", id != uuid.Nil)
					j2, err := e.M.GetJob(id)
					if e.HR("GetJob", err, sOK) {
						id2, err := j2.GetId()
						e.HR("GetJob's job GetId", err, sOK)
						e.True("GetJob gives the same job", id2 == id)
					}
				}
			},
		},
		createOfType("create/upload", bits.Upload),
		createOfType("create/upload-reply", bits.UploadReply),
		{
			Name: "create/bad-type",
			Docs: []string{"IBackgroundCopyManager::CreateJob (E_INVALIDARG for an invalid argument)", "BG_JOB_TYPE"},
			Run: func(e *Env) {
				e.refusedCreate("CreateJob(type 3)", e.Marker(), bits.JobType(3), hresult.E_INVALIDARG)
			},
		},
		{
			Name: "create/display-name-256",
			Docs: []string{"IBackgroundCopyManager::CreateJob (display name limited to 256 characters)"},
			Run: func(e *Env) {
				name := strings.Repeat("n", 256)
				j := e.CreateJob(name, bits.Download)
				Get(e, "GetDisplayName", j.GetDisplayName, name)
			},
		},
		{
			Name: "create/display-name-257",
			Docs: []string{"IBackgroundCopyManager::CreateJob (E_INVALIDARG: name longer than 256 characters)"},
			Run: func(e *Env) {
				e.refusedCreate("CreateJob(257 characters)", strings.Repeat("n", 257), bits.Download, hresult.E_INVALIDARG)
			},
		},
		{
			Name: "create/display-name-empty",
			Docs: []string{"IBackgroundCopyManager::CreateJob (only NULL is refused)"},
			Run: func(e *Env) {
				j := e.CreateJob("", bits.Download)
				Get(e, "GetDisplayName", j.GetDisplayName, "")
			},
		},
		{
			Name: "create/same-name-twice",
			Docs: []string{"IBackgroundCopyManager::CreateJob (display names need not be unique)"},
			Run: func(e *Env) {
				a := e.CreateJob(e.Marker(), bits.Download)
				b := e.CreateJob(e.Marker(), bits.Download)
				ida, err1 := a.GetId()
				idb, err2 := b.GetId()
				e.HR("GetId a", err1, sOK)
				e.HR("GetId b", err2, sOK)
				e.True("ids differ", ida != idb)
			},
		},
		{
			Name: "create/set-display-name",
			Docs: []string{"IBackgroundCopyJob::SetDisplayName", "IBackgroundCopyJob::GetDisplayName"},
			Run: func(e *Env) {
				j := e.CreateJob("first name", bits.Download)
				e.HR("SetDisplayName", j.SetDisplayName("renamed"), sOK)
				Get(e, "GetDisplayName", j.GetDisplayName, "renamed")
				e.HR("SetDisplayName(256 characters)", j.SetDisplayName(strings.Repeat("d", 256)), sOK)
				// The page lists E_INVALIDARG and BG_E_STRING_TOO_LONG for a long name; bitsemu
				// gives the latter (README, Semantics decisions).
				e.HR("SetDisplayName(257 characters)", j.SetDisplayName(strings.Repeat("d", 257)), hresult.BG_E_STRING_TOO_LONG)
				Get(e, "GetDisplayName after the refused name", j.GetDisplayName, strings.Repeat("d", 256))
			},
		},
		{
			Name: "create/description",
			Docs: []string{"IBackgroundCopyJob::SetDescription (1,024 characters; BG_E_STRING_TOO_LONG)", "IBackgroundCopyJob::GetDescription"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("SetDescription", j.SetDescription("what it is for"), sOK)
				Get(e, "GetDescription", j.GetDescription, "what it is for")
				e.HR("SetDescription(1024 characters)", j.SetDescription(strings.Repeat("x", 1024)), sOK)
				e.HR("SetDescription(1025 characters)", j.SetDescription(strings.Repeat("x", 1025)), hresult.BG_E_STRING_TOO_LONG)
				v, err := j.GetDescription()
				if e.HR("GetDescription after the refused one", err, sOK) {
					e.Eq("description length", len(v), 1024)
				}
			},
		},
	}
}
