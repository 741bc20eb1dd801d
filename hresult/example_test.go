package hresult_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bitsemu/bitsemu/hresult"
)

func ExampleCode_Error() {
	var err error = hresult.BG_E_INVALID_STATE
	fmt.Println(err)
	fmt.Println(hresult.BG_E_INVALID_STATE.Name(), hresult.BG_E_INVALID_STATE.Failed())
	// Output:
	// BG_E_INVALID_STATE (0x80200002): the job's current state does not allow this call
	// BG_E_INVALID_STATE true
}

func ExampleOf() {
	resume := func() error {
		return &hresult.Error{Op: "Resume", Code: hresult.BG_E_EMPTY}
	}
	err := fmt.Errorf("scheduler: %w", resume())

	fmt.Println(errors.Is(err, hresult.BG_E_EMPTY))
	fmt.Printf("0x%08X\n", uint32(hresult.Of(err)))
	fmt.Println(hresult.Of(nil).String())
	fmt.Println(hresult.Of(errors.New("something else")).String())
	// Output:
	// true
	// 0x80200003
	// S_OK (0x00000000)
	// E_FAIL (0x80004005)
}

func ExampleError() {
	err := &hresult.Error{
		Op:    "AddFile",
		Job:   "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}",
		State: "SUSPENDED",
		Code:  hresult.ERROR_PATH_NOT_FOUND,
		Err:   &os.PathError{Op: "stat", Path: "C:/missing/dir", Err: fs.ErrNotExist},
	}
	fmt.Println(err)
	fmt.Println(errors.Is(err, hresult.ERROR_PATH_NOT_FOUND), errors.Is(err, fs.ErrNotExist))
	// Output:
	// AddFile {0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}: job is SUSPENDED: HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND) (0x80070003): a directory on the path does not exist: stat C:/missing/dir: file does not exist
	// true true
}

func ExampleHTTP() {
	c := hresult.HTTP(404)
	fmt.Println(c == hresult.BG_E_HTTP_ERROR_404, c.String())
	status, ok := c.HTTPStatus()
	fmt.Println(status, ok)
	fmt.Println(hresult.HTTP(418).Error())
	// Output:
	// true BG_E_HTTP_ERROR_404 (0x80190194)
	// 404 true
	// BG_E_HTTP_ERROR_418 (0x801901A2): the server replied with HTTP status 418 (I'm a teapot)
}

func ExampleDescription() {
	text, err := hresult.Description(hresult.BG_E_NETWORK_DISCONNECTED, 0x0409) // en-US
	fmt.Printf("%q %v\n", text, err)

	_, err = hresult.Description(hresult.BG_E_NETWORK_DISCONNECTED, 0x0407) // de-DE
	fmt.Println(errors.Is(err, hresult.ERROR_RESOURCE_LANG_NOT_FOUND))

	_, err = hresult.Description(0x8020FFFF, 0x0409)
	fmt.Println(hresult.Of(err).Name())
	// Output:
	// "no network connection is available" <nil>
	// true
	// HRESULT_FROM_WIN32(ERROR_MR_MID_NOT_FOUND)
}

func ExampleLookup() {
	c, ok := hresult.Lookup("BG_E_HTTP_ERROR_503")
	fmt.Printf("0x%08X %v\n", uint32(c), ok)
	c, ok = hresult.Lookup("HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)")
	fmt.Println(c == hresult.ERROR_FILE_NOT_FOUND, ok)
	// Output:
	// 0x801901F7 true
	// true true
}

func ExampleFromWin32() {
	fmt.Println(hresult.FromWin32(2).String())
	fmt.Println(hresult.FromWin32(0).String())
	// Output:
	// HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) (0x80070002)
	// S_OK (0x00000000)
}
