package hresult_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bitsemu/bitsemu/hresult"
)

func TestDescriptionLanguages(t *testing.T) {
	tests := []struct {
		name string
		lang uint16
		ok   bool
	}{
		{"en-US", 0x0409, true},
		{"en-GB", 0x0809, true},
		{"English, neutral sublanguage", 0x0009, true},
		{"LANG_NEUTRAL", 0x0000, true},
		{"LANG_USER_DEFAULT", 0x0400, true},
		{"LANG_SYSTEM_DEFAULT", 0x0800, true},
		{"de-DE", 0x0407, false},
		{"fr-FR", 0x040C, false},
		{"ja-JP", 0x0411, false},
		{"custom default is not accepted", 0x0C00, false},
		{"primary 0x209 is not English", 0x0209, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hresult.Description(hresult.BG_E_INVALID_STATE, tt.lang)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, "the job's current state does not allow this call", got)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, hresult.ERROR_RESOURCE_LANG_NOT_FOUND)
			assert.Equal(t, uint32(0x80070717), uint32(hresult.Of(err)))
			assert.Empty(t, got)
		})
	}
}

func TestDescriptionCodes(t *testing.T) {
	tests := []struct {
		name    string
		code    hresult.Code
		wantErr error
		want    string
	}{
		{"BITS code", hresult.BG_E_NOT_FOUND, nil, "no job has that identifier"},
		{"success code", hresult.S_OK, nil, "the operation succeeded"},
		{"defined HTTP status", hresult.HTTP(404), nil, "the server replied with HTTP status 404 (Not Found)"},
		{"undefined HTTP status in range", hresult.HTTP(418), nil, "the server replied with HTTP status 418 (I'm a teapot)"},
		{"unknown BITS-range code", 0x8020FFFF, hresult.ERROR_MR_MID_NOT_FOUND, ""},
		{"unknown success code", 0x0020FFFF, hresult.ERROR_MR_MID_NOT_FOUND, ""},
		{"HTTP status out of range", hresult.HTTP(700), hresult.ERROR_MR_MID_NOT_FOUND, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hresult.Description(tt.code, 0x0409)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				assert.Equal(t, tt.code.Message(), got)
				return
			}
			assert.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, uint32(0x8007013D), uint32(hresult.Of(err)))
			assert.Empty(t, got)
		})
	}
}

func TestDescriptionLanguageCheckedFirst(t *testing.T) {
	_, err := hresult.Description(0x8020FFFF, 0x0407)
	assert.ErrorIs(t, err, hresult.ERROR_RESOURCE_LANG_NOT_FOUND)
}
