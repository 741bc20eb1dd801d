//go:build windows

package winbits

import (
	"errors"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/windows"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/state"
)

// These tests drive the callback object through its vtable, as BITS does, and look at its
// reference count and registration from inside the package.

type plainCallback struct {
	transferred chan bits.Job
	err         error
	panicWith   any
}

func (c *plainCallback) JobTransferred(j bits.Job) error {
	if c.panicWith != nil {
		panic(c.panicWith)
	}
	c.transferred <- j
	return c.err
}
func (c *plainCallback) JobError(bits.Job, bits.Error) error { return nil }
func (c *plainCallback) JobModification(bits.Job) error      { return nil }

type fullCallback struct{ plainCallback }

func (c *fullCallback) FileTransferred(bits.Job, bits.File) error { return nil }
func (c *fullCallback) FileRangesTransferred(bits.Job, bits.File, []bits.FileRange) error {
	return nil
}

// vcall calls slot of the COM object p with args, as a foreign caller would.
func vcall(p unsafe.Pointer, slot int, args ...uintptr) uintptr {
	r, _, _ := syscall.SyscallN(method(p, slot), append([]uintptr{uintptr(p)}, args...)...)
	return r
}

func qi(p unsafe.Pointer, iid *windows.GUID) (unsafe.Pointer, hresult.Code) {
	var out unsafe.Pointer
	r, _, _ := syscall.SyscallN(method(p, slotQueryInterface), uintptr(p), uintptr(unsafe.Pointer(iid)), uintptr(unsafe.Pointer(&out)))
	return out, code(r)
}

func isLive(obj *callbackObject) bool {
	_, ok := liveCallbacks.Load(obj)
	return ok
}

func TestCallbackQueryInterfaceFollowsTheGoValue(t *testing.T) {
	other := windows.GUID{Data1: 0x12345678}
	cases := []struct {
		name string
		cb   bits.Callback
		want map[*windows.GUID]bool
	}{
		{"Callback only", &plainCallback{}, map[*windows.GUID]bool{
			&iidIUnknown: true, &iidBackgroundCopyCallback: true,
			&iidBackgroundCopyCallback2: false, &iidBackgroundCopyCallback3: false, &other: false}},
		{"Callback3", &fullCallback{}, map[*windows.GUID]bool{
			&iidIUnknown: true, &iidBackgroundCopyCallback: true,
			&iidBackgroundCopyCallback2: true, &iidBackgroundCopyCallback3: true, &other: false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj, ok := newCallbackObject(c.cb, newConn())
			require.True(t, ok)
			p := obj.comPointer()
			for iid, has := range c.want {
				out, code := qi(p, iid)
				if !has {
					assert.Equal(t, hresult.E_NOINTERFACE, code, "%v", iid)
					assert.Nil(t, out)
					continue
				}
				require.Equal(t, hresult.S_OK, code, "%v", iid)
				assert.Equal(t, p, out, "one object answers for every interface")
				assert.Equal(t, uintptr(1), vcall(p, slotRelease), "QueryInterface took a reference")
			}
			r, _, _ := syscall.SyscallN(method(p, slotQueryInterface), uintptr(p), uintptr(unsafe.Pointer(&iidIUnknown)), 0)
			assert.Equal(t, hresult.E_POINTER, code(r))
			assert.Equal(t, uintptr(0), vcall(p, slotRelease))
		})
	}
}

func TestCallbackReferenceCount(t *testing.T) {
	c := newConn()
	obj, ok := newCallbackObject(&plainCallback{}, c)
	require.True(t, ok)
	p := obj.comPointer()
	assert.True(t, isLive(obj))
	assert.Same(t, obj, lookupCallbackObject(p))
	assert.Equal(t, uintptr(2), vcall(p, slotAddRef))
	assert.Equal(t, uintptr(1), vcall(p, slotRelease))
	assert.True(t, isLive(obj))
	assert.Equal(t, uintptr(0), vcall(p, slotRelease))
	assert.False(t, isLive(obj), "the last Release unregisters the object")
	assert.Nil(t, lookupCallbackObject(p))
	c.mu.Lock()
	assert.Empty(t, c.callbacks)
	c.mu.Unlock()

	c.close()
	_, ok = newCallbackObject(&plainCallback{}, c)
	assert.False(t, ok, "a closed connection registers no callback")
}

// bitsJob returns a real job pointer from BITS, and cancels the job when the test ends.
func bitsJob(t testing.TB) (*Manager, *Job) {
	t.Helper()
	m, err := New()
	require.NoError(t, err)
	j, err := m.CreateJob("winbits", bits.Download)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = j.Cancel()
		_ = m.Close()
	})
	return m, j.(*Job)
}

// primary returns the COM pointer a Job holds, as BITS would pass it to a callback.
func primary(j *Job) unsafe.Pointer {
	j.o.mu.RLock()
	defer j.o.mu.RUnlock()
	return j.o.primary
}

func TestCallbackDispatch(t *testing.T) {
	_, j := bitsJob(t)
	id, err := j.GetId()
	require.NoError(t, err)
	jp := primary(j)
	cases := []struct {
		name string
		cb   *plainCallback
		want hresult.Code
	}{
		{"success", &plainCallback{}, hresult.S_OK},
		{"error keeps its HRESULT", &plainCallback{err: hresult.BG_E_INVALID_STATE}, hresult.BG_E_INVALID_STATE},
		{"plain error is E_FAIL", &plainCallback{err: errors.New("no")}, hresult.E_FAIL},
		{"panic is E_FAIL", &plainCallback{panicWith: "boom"}, hresult.E_FAIL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cb.transferred = make(chan bits.Job, 1)
			conn := newConn()
			obj, ok := newCallbackObject(c.cb, conn)
			require.True(t, ok)
			p := obj.comPointer()
			got := code(vcall(p, cbJobTransferred, uintptr(jp)))
			assert.Equal(t, c.want, got)
			if c.cb.panicWith == nil {
				// The callback's Job wraps the pointer with a reference of its own.
				cj := <-c.cb.transferred
				cid, err := cj.GetId()
				require.NoError(t, err)
				assert.Equal(t, id, cid)
				assert.Equal(t, jp, primary(cj.(*Job)))
			}
			conn.close()
			assert.Equal(t, hresult.RPC_E_DISCONNECTED, code(vcall(p, cbJobTransferred, uintptr(jp))),
				"a closed connection's callback refuses calls")
			assert.Equal(t, uintptr(0), vcall(p, slotRelease))
		})
	}
	// The job itself is untouched by the references the callbacks took and gave back.
	s, err := j.GetState()
	require.NoError(t, err)
	assert.Equal(t, state.Suspended, s)
}

func TestCloseDisconnectsRegisteredCallbacks(t *testing.T) {
	m, j := bitsJob(t)
	cb := &plainCallback{}
	require.NoError(t, j.SetNotifyInterface(cb))
	var obj *callbackObject
	m.conn.mu.Lock()
	for o := range m.conn.callbacks {
		obj = o
	}
	m.conn.mu.Unlock()
	require.NotNil(t, obj, "the connection lists the callback it registered")
	assert.True(t, isLive(obj), "BITS holds a reference")
	got, err := j.GetNotifyInterface()
	require.NoError(t, err)
	assert.Same(t, cb, got)

	require.NoError(t, m.Close())
	assert.True(t, obj.disconnected.Load())
	// CoDisconnectObject made the stub let go of the object: nothing holds it now.
	assert.False(t, isLive(obj), "refs %d after Close", obj.refs.Load())
}

func TestUnreachableHandlesAreReleased(t *testing.T) {
	m, j := bitsJob(t)
	id, err := j.GetId()
	require.NoError(t, err)
	count := func() int {
		m.conn.mu.Lock()
		defer m.conn.mu.Unlock()
		return len(m.conn.objects)
	}
	before := count()
	func() {
		for range 10 {
			h, err := m.GetJob(id)
			require.NoError(t, err)
			_, err = h.GetState()
			require.NoError(t, err)
		}
	}()
	require.Equal(t, before+10, count())
	// The cleanups run on their own goroutine after a collection; give them a bounded number
	// of chances.
	for i := 0; i < 100 && count() > before; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, before, count(), "the collector released the dropped handles")
}

func TestSingleThreadedApartmentIsRefused(t *testing.T) {
	_, j := bitsJob(t)
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := windows.CoInitializeEx(0, windows.COINIT_APARTMENTTHREADED); err != nil {
			done <- err
			return
		}
		defer windows.CoUninitialize()
		_, err := j.GetState()
		done <- err
	}()
	err := <-done
	require.ErrorIs(t, err, rpcEChangedMode)
	_, err = j.GetState()
	require.NoError(t, err, "other threads are unaffected")
}

func TestConversions(t *testing.T) {
	u := uuid.MustParse("4991d34b-80a1-4291-83b6-3328366b9097")
	assert.Equal(t, clsidBackgroundCopyManager, guidOf(u))
	assert.Equal(t, u, uuidOf(clsidBackgroundCopyManager))
	assert.Equal(t, "{4991D34B-80A1-4291-83B6-3328366B9097}", guidOf(u).String())

	assert.True(t, timeOf(windows.Filetime{}).IsZero())
	at := time.Date(2026, 12, 2, 10, 18, 0, 123_456_700, time.UTC)
	assert.True(t, at.Equal(timeOf(windows.NsecToFiletime(at.UnixNano()))))

	for _, id := range []bits.PropertyID{bits.PropertyCostFlags, bits.PropertyNotificationCLSID,
		bits.PropertyDynamicContent, bits.PropertyMaxDownloadSize, bits.PropertyUseStoredCredentials} {
		v := bits.PropertyValue{Dword: 0x80000021, ClsID: u, Enable: true, Uint64: 1 << 40, Target: bits.TargetProxy}
		got := propertyValueFrom(id, propertyValueOf(id, v))
		switch id {
		case bits.PropertyCostFlags:
			assert.Equal(t, bits.PropertyValue{Dword: v.Dword}, got)
		case bits.PropertyNotificationCLSID:
			assert.Equal(t, bits.PropertyValue{ClsID: u}, got)
		case bits.PropertyDynamicContent:
			assert.Equal(t, bits.PropertyValue{Enable: true}, got)
		case bits.PropertyMaxDownloadSize:
			assert.Equal(t, bits.PropertyValue{Uint64: 1 << 40}, got)
		case bits.PropertyUseStoredCredentials:
			assert.Equal(t, bits.PropertyValue{Target: bits.TargetProxy}, got)
		}
	}
	// A GUID sits in the union the way BITS reads it: Data1 first, little-endian.
	pv := propertyValueOf(bits.PropertyNotificationCLSID, bits.PropertyValue{ClsID: u})
	assert.Equal(t, uint64(0x429180a14991d34b), pv[0])
}
