package hresult

// Language identifiers (LANGIDs) accepted by Description besides the English ones.
const (
	langNeutral       = 0x0000 // LANG_NEUTRAL, SUBLANG_NEUTRAL
	langUserDefault   = 0x0400 // LANG_USER_DEFAULT
	langSystemDefault = 0x0800 // LANG_SYSTEM_DEFAULT
	langEnglish       = 0x09   // LANG_ENGLISH, the primary language in the low ten bits
	primaryLangMask   = 0x03FF
)

// Description returns the text that GetErrorDescription would give for c in the language lang,
// a Windows LANGID. bitsemu has English text only, so Description accepts LANG_NEUTRAL (0x0000),
// LANG_USER_DEFAULT (0x0400), LANG_SYSTEM_DEFAULT (0x0800) and every LANGID whose primary
// language (lang & 0x3FF) is English (0x09), such as 0x0409 or 0x0809; the text is c.Message().
//
// Like FormatMessage, it fails with ERROR_RESOURCE_LANG_NOT_FOUND for any other language, which
// is checked first, and with ERROR_MR_MID_NOT_FOUND for a code that has no text: one this
// package does not name and that is not an HTTP status from 100 to 599. The error returned is
// the Code itself.
func Description(c Code, lang uint16) (string, error) {
	switch {
	case lang == langNeutral, lang == langUserDefault, lang == langSystemDefault:
	case lang&primaryLangMask == langEnglish:
	default:
		return "", ERROR_RESOURCE_LANG_NOT_FOUND
	}
	msg, ok := c.message()
	if !ok {
		return "", ERROR_MR_MID_NOT_FOUND
	}
	return msg, nil
}
