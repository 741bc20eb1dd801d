package scenario

import (
	"path"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// files returns the job's files through EnumFiles, ending the scenario when that fails.
func (e *Env) files(j bits.Job) []bits.File {
	en, err := j.EnumFiles()
	e.Must("EnumFiles", err)
	fs, err := bits.All(en)
	e.Must("EnumFiles Next", err)
	return fs
}

// remoteNames returns the last segment of each file's remote name, in enumeration order.
func remoteNames(fs []bits.File) []string {
	var out []string
	for _, f := range fs {
		n, err := f.GetRemoteName()
		if err != nil {
			n = hresult.Of(err).Name()
		}
		out = append(out, path.Base(n))
	}
	return out
}

// progress records the job's progress against the documented one.
func (e *Env) progress(key string, j bits.Job, want bits.Progress) {
	p, err := j.GetProgress()
	if e.HR(key, err, sOK) {
		e.Eq(key+" BytesTotal", Size(p.BytesTotal), Size(want.BytesTotal))
		e.Eq(key+" BytesTransferred", p.BytesTransferred, want.BytesTransferred)
		e.Eq(key+" FilesTotal", p.FilesTotal, want.FilesTotal)
		e.Eq(key+" FilesTransferred", p.FilesTransferred, want.FilesTransferred)
	}
}

// fileProgress records a file's progress against the documented one.
func (e *Env) fileProgress(key string, f bits.File, want bits.FileProgress) {
	p, err := f.GetProgress()
	if e.HR(key, err, sOK) {
		e.Eq(key+" BytesTotal", Size(p.BytesTotal), Size(want.BytesTotal))
		e.Eq(key+" BytesTransferred", p.BytesTransferred, want.BytesTransferred)
		e.Eq(key+" Completed", p.Completed, want.Completed)
	}
}

// refusedAddFile is a scenario of AddFile calls that must give E_INVALIDARG and add nothing;
// each call gives the observation's key, the remote name and the local name.
func refusedAddFile(name, doc string, calls ...func(e *Env) (key, remote, local string)) Scenario {
	return Scenario{Name: name, Docs: []string{doc, "BG_FILE_INFO"}, Run: func(e *Env) {
		j := e.CreateJob(e.Marker(), bits.Download)
		for _, c := range calls {
			key, remote, local := c(e)
			e.HR(key, j.AddFile(remote, local), hresult.E_INVALIDARG)
		}
		e.progress("GetProgress", j, bits.Progress{})
	}}
}

func fileScenarios() []Scenario {
	return []Scenario{
		{
			Name: "addfile/http",
			Docs: []string{"IBackgroundCopyJob::AddFile", "BG_JOB_PROGRESS", "BG_FILE_PROGRESS", "IBackgroundCopyFile::GetRemoteName", "IBackgroundCopyFile::GetLocalName"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				remote, local := e.Serve("a.bin", []byte("abc")), e.Path("a.bin")
				e.HR("AddFile", j.AddFile(remote, local), sOK)
				// BytesTotal is BG_SIZE_UNKNOWN while a file's size is not known (BG_JOB_PROGRESS).
				e.progress("GetProgress", j, bits.Progress{BytesTotal: bits.SizeUnknown, FilesTotal: 1})
				fs := e.files(j)
				if !e.Eq("files", len(fs), 1) {
					return
				}
				Same(e, "GetRemoteName", fs[0].GetRemoteName, remote)
				Same(e, "GetLocalName", fs[0].GetLocalName, local)
				e.fileProgress("file GetProgress", fs[0], bits.FileProgress{BytesTotal: bits.SizeUnknown})
				_, code, err := fs[0].GetFileRanges()
				// S_FALSE: a file added without ranges has none (IBackgroundCopyFile2::GetFileRanges).
				e.Code("GetFileRanges", code, err, hresult.S_FALSE)
			},
		},
		refusedAddFile("addfile/relative-local-name", "IBackgroundCopyJob::AddFile (E_INVALIDARG: the local name is not a full path)",
			func(e *Env) (string, string, string) {
				return "AddFile", e.Serve("a.bin", []byte("abc")), "relative.bin"
			}),
		refusedAddFile("addfile/unsupported-scheme", "IBackgroundCopyJob::AddFile (E_INVALIDARG: the protocol is not supported)",
			func(e *Env) (string, string, string) { return "AddFile(ftp)", "ftp://127.0.0.1/a.bin", e.Path("a.bin") }),
		refusedAddFile("addfile/empty-names", "IBackgroundCopyJob::AddFile (E_INVALIDARG: a name is not valid)",
			func(e *Env) (string, string, string) { return "AddFile(empty remote name)", "", e.Path("a.bin") },
			func(e *Env) (string, string, string) {
				return "AddFile(empty local name)", e.Serve("a.bin", []byte("a")), ""
			}),
		refusedAddFile("addfile/wildcard-local-name", "BG_FILE_INFO (no wildcard characters in the local name)",
			func(e *Env) (string, string, string) {
				return "AddFile", e.Serve("a.bin", []byte("a")), e.Path("a*.bin")
			}),
		{
			Name: "addfile/same-file-twice",
			Docs: []string{"IBackgroundCopyJob::AddFile (no rule against adding a file again)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				remote, local := e.Serve("a.bin", []byte("abc")), e.Path("a.bin")
				e.HR("AddFile", j.AddFile(remote, local), sOK)
				e.HR("AddFile again", j.AddFile(remote, local), sOK)
				e.progress("GetProgress", j, bits.Progress{BytesTotal: bits.SizeUnknown, FilesTotal: 2})
			},
		},
		{
			Name: "addfileset/two-files",
			Docs: []string{"IBackgroundCopyJob::AddFileSet", "IBackgroundCopyJob::EnumFiles", "Life Cycle of a BITS Job (files transfer in the order added)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("AddFileSet", j.AddFileSet([]bits.FileInfo{
					{RemoteName: e.Serve("first.bin", []byte("1")), LocalName: e.Path("first.bin")},
					{RemoteName: e.Serve("second.bin", []byte("2")), LocalName: e.Path("second.bin")},
				}), sOK)
				e.progress("GetProgress", j, bits.Progress{BytesTotal: bits.SizeUnknown, FilesTotal: 2})
				e.Eq("EnumFiles order", remoteNames(e.files(j)), []string{"first.bin", "second.bin"})
			},
		},
		{
			Name: "addfileset/empty",
			Docs: []string{"IBackgroundCopyJob::AddFileSet", "decision: an empty set succeeds and changes nothing (README, Semantics decisions)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("AddFileSet(no files)", j.AddFileSet(nil), sOK)
				e.progress("GetProgress", j, bits.Progress{})
			},
		},
		{
			Name: "addfileset/one-bad-name",
			Docs: []string{"IBackgroundCopyJob::AddFileSet (E_INVALIDARG: a local name is not a full path)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.HR("AddFileSet", j.AddFileSet([]bits.FileInfo{
					{RemoteName: e.Serve("good.bin", []byte("1")), LocalName: e.Path("good.bin")},
					{RemoteName: e.Serve("bad.bin", []byte("2")), LocalName: "bad.bin"},
				}), hresult.E_INVALIDARG)
			},
		},
		{
			Name: "ranges/add",
			Docs: []string{"IBackgroundCopyJob3::AddFileWithRanges", "IBackgroundCopyFile2::GetFileRanges", "BG_FILE_RANGE"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				ranges := []bits.FileRange{{InitialOffset: 2, Length: 3}, {InitialOffset: 10, Length: bits.LengthToEOF}}
				if !e.HR("AddFileWithRanges", j.AddFileWithRanges(e.Serve("r.bin", make([]byte, 32)), e.Path("r.bin"), ranges), sOK) {
					return
				}
				fs := e.files(j)
				if !e.Eq("files", len(fs), 1) {
					return
				}
				got, code, err := fs[0].GetFileRanges()
				if e.Code("GetFileRanges", code, err, sOK) {
					e.Eq("ranges", got, ranges)
				}
			},
		},
		{
			Name: "ranges/invalid",
			Docs: []string{"IBackgroundCopyJob3::AddFileWithRanges (E_INVALIDARG for no ranges; BG_E_INVALID_RANGE; BG_E_OVERLAPPING_RANGES)"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				remote := e.Serve("r.bin", make([]byte, 32))
				e.HR("AddFileWithRanges(no ranges)", j.AddFileWithRanges(remote, e.Path("a.bin"), nil), hresult.E_INVALIDARG)
				e.HR("AddFileWithRanges(offset BG_LENGTH_TO_EOF)", j.AddFileWithRanges(remote, e.Path("b.bin"),
					[]bits.FileRange{{InitialOffset: bits.LengthToEOF, Length: 1}}), hresult.BG_E_INVALID_RANGE)
				e.HR("AddFileWithRanges(overlapping)", j.AddFileWithRanges(remote, e.Path("c.bin"),
					[]bits.FileRange{{InitialOffset: 0, Length: 10}, {InitialOffset: 5, Length: 10}}), hresult.BG_E_OVERLAPPING_RANGES)
				e.progress("GetProgress", j, bits.Progress{})
			},
		},
		{
			Name: "enumfiles/next-skip-reset-clone",
			Docs: []string{"IEnumBackgroundCopyFiles::Next", "IEnumBackgroundCopyFiles::Skip", "IEnumBackgroundCopyFiles::Reset", "IEnumBackgroundCopyFiles::Clone", "IEnumBackgroundCopyFiles::GetCount"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				for _, n := range []string{"1.bin", "2.bin", "3.bin"} {
					e.Must("AddFile", j.AddFile(e.Serve(n, []byte(n)), e.Path(n)))
				}
				en, err := j.EnumFiles()
				e.Must("EnumFiles", err)
				enumWalk(e, en, 3)
			},
		},
		{
			Name: "enumfiles/snapshot",
			Docs: []string{"IBackgroundCopyJob::EnumFiles (the enumerator is a snapshot of the files when it was made)", "Enumerating Jobs in the Transfer Queue"},
			Run: func(e *Env) {
				j := e.CreateJob(e.Marker(), bits.Download)
				e.Must("AddFile", j.AddFile(e.Serve("1.bin", []byte("1")), e.Path("1.bin")))
				en, err := j.EnumFiles()
				e.Must("EnumFiles", err)
				e.Must("AddFile", j.AddFile(e.Serve("2.bin", []byte("2")), e.Path("2.bin")))
				Get(e, "GetCount", en.GetCount, uint32(1))
				fs, err := bits.All(en)
				if e.HR("Next", err, sOK) {
					e.Eq("files listed", len(fs), 1)
				}
			},
		},
	}
}

// enumWalk drives an enumerator of n items through Next, Skip, Reset and Clone and records
// each result against IEnumXxx's documented behaviour: S_OK when all asked for came, S_FALSE
// when fewer did.
func enumWalk[T any](e *Env, en bits.Enum[T], n uint32) {
	if _, ok := Get(e, "GetCount", en.GetCount, n); !ok {
		return
	}
	items, code, err := en.Next(1)
	if e.Code("Next(1)", code, err, sOK) {
		e.Eq("Next(1) items", len(items), 1)
	}
	code, err = en.Skip(1)
	e.Code("Skip(1)", code, err, sOK)
	items, code, err = en.Next(n)
	if e.Code("Next(n) past the end", code, err, hresult.S_FALSE) {
		e.Eq("Next(n) past the end items", len(items), n-2)
	}
	items, code, err = en.Next(1)
	if e.Code("Next(1) at the end", code, err, hresult.S_FALSE) {
		e.Eq("Next(1) at the end items", len(items), 0)
	}
	code, err = en.Skip(1)
	e.Code("Skip(1) at the end", code, err, hresult.S_FALSE)
	e.HR("Reset", en.Reset(), sOK)
	code, err = en.Skip(1)
	e.Code("Skip(1) after Reset", code, err, sOK)
	c, err := en.Clone()
	if e.HR("Clone", err, sOK) {
		items, code, err = c.Next(n)
		if e.Code("clone Next(n)", code, err, hresult.S_FALSE) {
			e.Eq("clone Next(n) items (the clone starts where the original is)", len(items), n-1)
		}
		items, code, err = en.Next(n - 1)
		if e.Code("original Next(n-1) after the clone moved", code, err, sOK) {
			e.Eq("original Next(n-1) items", len(items), n-1)
		}
	}
}
