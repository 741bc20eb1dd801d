package wire

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/bitsemu/bitsemu/bits"
	"github.com/bitsemu/bitsemu/hresult"
)

// Conversions between the protocol's messages and package bits's values, used alike by the
// service and its clients.

// ErrStatus turns a failed call's error into the status the service returns: code Unknown, with
// a Fault holding the HRESULT and the parts of an *hresult.Error.
func ErrStatus(err error) error {
	if err == nil {
		return nil
	}
	f := &Fault{Hresult: uint32(hresult.Of(err))}
	var he *hresult.Error
	if errors.As(err, &he) {
		f.Op, f.Job, f.State = he.Op, he.Job, he.State
		if he.Err != nil {
			f.Cause = he.Err.Error()
		}
	} else {
		f.Cause = err.Error()
	}
	st, derr := status.New(codes.Unknown, err.Error()).WithDetails(protoadapt.MessageV1Of(f))
	if derr != nil {
		return status.Error(codes.Unknown, err.Error())
	}
	return st.Err()
}

// StatusErr turns the error of a call back into what the service's method returned: an
// *hresult.Error with the same HRESULT, operation, job and state, its cause as text. An error
// without a Fault (the connection failed, or the service is gone) is RPC_E_DISCONNECTED, with the
// transport's error as its cause.
func StatusErr(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if ok {
		for _, d := range st.Details() {
			f, isFault := d.(*Fault)
			if !isFault {
				continue
			}
			he := &hresult.Error{Op: f.Op, Job: f.Job, State: f.State, Code: hresult.Code(f.Hresult)}
			if f.Cause != "" {
				he.Err = errors.New(f.Cause)
			}
			return he
		}
	}
	return &hresult.Error{Op: "service", Code: hresult.RPC_E_DISCONNECTED, Err: err}
}

// TimeOf and TimeTo convert an instant; the zero time is a nil message.
func TimeOf(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	return &Time{Seconds: t.Unix(), Nanos: int32(t.Nanosecond())}
}

// TimeTo is the inverse of TimeOf.
func TimeTo(t *Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Unix(t.Seconds, int64(t.Nanos))
}

// RangesOf converts file ranges to messages.
func RangesOf(rs []bits.FileRange) []*FileRange {
	if rs == nil {
		return nil
	}
	out := make([]*FileRange, len(rs))
	for i, r := range rs {
		out[i] = &FileRange{InitialOffset: r.InitialOffset, Length: r.Length}
	}
	return out
}

// RangesTo is the inverse of RangesOf; an empty list is nil.
func RangesTo(rs []*FileRange) []bits.FileRange {
	if len(rs) == 0 {
		return nil
	}
	out := make([]bits.FileRange, len(rs))
	for i, r := range rs {
		out[i] = bits.FileRange{InitialOffset: r.GetInitialOffset(), Length: r.GetLength()}
	}
	return out
}

// PropertyOf converts a property value.
func PropertyOf(v bits.PropertyValue) *PropertyValue {
	return &PropertyValue{Dword: v.Dword, Clsid: v.ClsID[:], Enable: v.Enable, Uint64: v.Uint64, Target: uint32(v.Target)}
}

// PropertyTo is the inverse of PropertyOf. A CLSID that is not 16 bytes long is the nil GUID.
func PropertyTo(v *PropertyValue) bits.PropertyValue {
	out := bits.PropertyValue{Dword: v.GetDword(), Enable: v.GetEnable(), Uint64: v.GetUint64(),
		Target: bits.AuthTarget(v.GetTarget())}
	if id, err := uuid.FromBytes(v.GetClsid()); err == nil {
		out.ClsID = id
	}
	return out
}

// GUIDTo reads a job GUID; E_INVALIDARG when it is not 16 bytes.
func GUIDTo(g *GUID) (uuid.UUID, error) {
	id, err := uuid.FromBytes(g.GetId())
	if err != nil {
		return uuid.Nil, &hresult.Error{Op: "GUID", Code: hresult.E_INVALIDARG, Err: err}
	}
	return id, nil
}
