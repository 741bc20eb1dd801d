package client

import (
	"context"
	"runtime"

	"google.golang.org/grpc"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/service/internal/wire"
)

// The helpers below make one call on an object. Each keeps the object alive until the answer
// has come, so that its handle is not released while the call is under way.

type rpcFunc[Req, Resp any] = func(context.Context, Req, ...grpc.CallOption) (Resp, error)

func (o *object) handle() *wire.Handle { return &wire.Handle{Handle: o.h} }

func do[Resp any](o *object, rpc rpcFunc[*wire.Handle, Resp]) error {
	_, err := call(o.m, rpc, o.handle())
	runtime.KeepAlive(o)
	return err
}

func with[Req, Resp any](o *object, rpc rpcFunc[Req, Resp], req Req) (Resp, error) {
	r, err := call(o.m, rpc, req)
	runtime.KeepAlive(o)
	return r, err
}

func getU32[V ~uint32](o *object, rpc rpcFunc[*wire.Handle, *wire.U32]) (V, error) {
	r, err := with(o, rpc, o.handle())
	return V(r.GetValue()), err
}

func setU32[V ~uint32](o *object, rpc rpcFunc[*wire.U32Arg, *wire.Empty], v V) error {
	_, err := with(o, rpc, &wire.U32Arg{Handle: o.h, Value: uint32(v)})
	return err
}

func getStr(o *object, rpc rpcFunc[*wire.Handle, *wire.Str]) (string, error) {
	r, err := with(o, rpc, o.handle())
	return r.GetValue(), err
}

func setStr(o *object, rpc rpcFunc[*wire.StrArg, *wire.Empty], v string) error {
	_, err := with(o, rpc, &wire.StrArg{Handle: o.h, Value: v})
	return err
}

func getBool(o *object, rpc rpcFunc[*wire.Handle, *wire.Bool]) (bool, error) {
	r, err := with(o, rpc, o.handle())
	return r.GetValue(), err
}

func getCode[Req any](o *object, rpc rpcFunc[Req, *wire.Code], req Req) (hresult.Code, error) {
	r, err := with(o, rpc, req)
	return hresult.Code(r.GetHresult()), err
}
