package manager_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
)

// FuzzManagerCalls feeds fuzzer-chosen arguments to every input-taking method of the manager's
// client surface (CreateJob, GetJob, EnumJobs, GetErrorDescription), as a user or an
// administrator, on a queue that already holds jobs of two users and is near its limits. Each
// call must return nil or an *hresult.Error with a code its doc comment names (errors.Is agreeing),
// leave the queue as it was when it fails, and, when it succeeds, do what it says.
func FuzzManagerCalls(f *testing.F) {
	f.Add("a job", uint32(0), false, uint32(0), uint32(hresult.BG_E_NOT_FOUND), uint16(0x409), []byte{})
	f.Add("", uint32(2), true, uint32(1), uint32(0x80190194), uint16(0x809), make([]byte, 16))
	f.Add(strings.Repeat("é", 257), uint32(3), false, uint32(1), uint32(0x12345678), uint16(0x407), []byte("0123456789abcdef"))
	f.Add("nul\x00inside", uint32(1), false, uint32(2), uint32(0), uint16(0x400), []byte{0xff})
	f.Add("\xff\xfe", uint32(0), true, uint32(0xffffffff), uint32(0x80070005), uint16(0x800), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, name string, typ uint32, admin bool, flags, code uint32, lang uint16, idBytes []byte) {
		m := manager.New(manager.WithManualTransfers(), manager.WithLimits(job.Limits{MaxJobsPerUser: 3, MaxJobsPerMachine: 5}))
		defer m.Close()
		user := manager.Identity{SID: "S-1-5-21-1-2-3-1001"}
		other := manager.Identity{SID: "S-1-5-21-1-2-3-1002"}
		id := user
		if admin {
			id = manager.Identity{SID: "S-1-5-21-1-2-3-500", Admin: true}
		}
		var existing []uuid.UUID
		for _, owner := range []manager.Identity{user, user, other} {
			c, err := m.Connect(owner)
			require.NoError(t, err)
			j, err := c.CreateJob("existing", bits.Download)
			require.NoError(t, err)
			jid, err := j.GetId()
			require.NoError(t, err)
			existing = append(existing, jid)
		}
		c, err := m.Connect(id)
		require.NoError(t, err)
		t.Logf("CreateJob(%q, %d) as %s; GetJob(%x); EnumJobs(%#x); GetErrorDescription(%#x, %#x)", name, typ, id.SID, idBytes, flags, code, lang)

		// CreateJob.
		before := m.JobCount()
		jt := bits.JobType(typ)
		j, err := c.CreateJob(name, jt)
		badName := !utf8.ValidString(name) || strings.ContainsRune(name, 0) || utf8.RuneCountInString(name) > 256
		switch {
		case err != nil:
			requireCode(t, err, "CreateJob", hresult.E_INVALIDARG, hresult.BG_E_TOO_MANY_JOBS_PER_USER, hresult.BG_E_TOO_MANY_JOBS_PER_MACHINE)
			require.Nil(t, j)
			require.Equal(t, before, m.JobCount(), "a failed CreateJob adds no job")
			if hresult.Of(err) == hresult.BG_E_TOO_MANY_JOBS_PER_USER {
				require.False(t, admin, "administrators are exempt from the limits")
			}
		default:
			require.Equal(t, before+1, m.JobCount())
			got, err := j.GetDisplayName()
			require.NoError(t, err)
			require.Equal(t, name, got)
			gotType, err := j.GetType()
			require.NoError(t, err)
			require.Equal(t, jt, gotType)
			owner, err := j.GetOwner()
			require.NoError(t, err)
			require.Equal(t, id.SID, owner)
			jid, err := j.GetId()
			require.NoError(t, err)
			again, err := c.GetJob(jid)
			require.NoError(t, err)
			againID, err := again.GetId()
			require.NoError(t, err)
			require.Equal(t, jid, againID)
			existing = append(existing, jid)
		}
		if !jt.Valid() || badName {
			requireCode(t, err, "CreateJob", hresult.E_INVALIDARG)
		}

		// GetJob: a GUID of a job in the queue, or one that is not.
		var gid uuid.UUID
		copy(gid[:], idBytes)
		if len(idBytes) > 0 && len(idBytes) < 4 {
			gid = existing[int(idBytes[0])%len(existing)]
		}
		g, err := c.GetJob(gid)
		known := false
		for _, e := range existing {
			known = known || e == gid
		}
		switch {
		case !known:
			requireCode(t, err, "GetJob", hresult.BG_E_NOT_FOUND)
		case err != nil:
			requireCode(t, err, "GetJob", hresult.E_ACCESSDENIED)
			require.False(t, admin, "an administrator may get any job")
		default:
			gotID, err := g.GetId()
			require.NoError(t, err)
			require.Equal(t, gid, gotID)
		}

		// EnumJobs.
		e, err := c.EnumJobs(flags)
		switch {
		case flags&^bits.EnumAllUsers != 0:
			requireCode(t, err, "EnumJobs", hresult.E_INVALIDARG)
		case flags == bits.EnumAllUsers && !admin:
			requireCode(t, err, "EnumJobs", hresult.E_ACCESSDENIED)
		default:
			require.NoError(t, err)
			all, err := bits.All(e)
			require.NoError(t, err)
			want := m.JobCount()
			if flags == 0 {
				want = 0
				for _, e := range existing {
					if j, err := c.GetJob(e); err == nil {
						if o, _ := j.GetOwner(); o == id.SID {
							want++
						}
					}
				}
			}
			require.Len(t, all, want)
		}

		// GetErrorDescription.
		text, err := c.GetErrorDescription(hresult.Code(code), lang)
		if err != nil {
			requireCode(t, err, "GetErrorDescription", hresult.ERROR_RESOURCE_LANG_NOT_FOUND, hresult.ERROR_MR_MID_NOT_FOUND)
			require.Empty(t, text)
		} else {
			require.NotEmpty(t, text)
			require.True(t, utf8.ValidString(text))
		}
		if lang == 0x409 && !strings.HasPrefix(hresult.Code(code).Name(), "HRESULT ") {
			require.NoError(t, err, "a named code has English text")
		}
	})
}

// requireCode checks that err is an HRESULT among codes, and that errors.Is agrees.
func requireCode(t *testing.T, err error, op string, codes ...hresult.Code) {
	t.Helper()
	require.Error(t, err, op)
	var he *hresult.Error
	if !errors.As(err, &he) {
		var c hresult.Code
		require.True(t, errors.As(err, &c), "%s: %T is no HRESULT: %v", op, err, err)
	}
	got := hresult.Of(err)
	require.Contains(t, codes, got, "%s: %v", op, err)
	require.ErrorIs(t, err, got, op)
}
