package notify

import "strings"

// SplitCmdLine splits a notify command line's parameter string into arguments the way Windows
// programs read their command line (CommandLineToArgvW): arguments are separated by spaces or
// tabs; a double quote starts or ends a quoted part, in which spaces and tabs are kept; 2n
// backslashes before a quote give n backslashes and the quote acts as above; 2n+1 backslashes
// before a quote give n backslashes and a literal quote; other backslashes are literal. By
// BITS's convention the first argument is the program itself.
func SplitCmdLine(s string) []string {
	var args []string
	var cur strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\':
			n := 0
			for i < len(s) && s[i] == '\\' {
				n++
				i++
			}
			if i < len(s) && s[i] == '"' {
				cur.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					cur.WriteByte('"')
				} else {
					quoted = !quoted
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, n))
				i--
			}
			inArg = true
		case ch == '"':
			if quoted && i+1 < len(s) && s[i+1] == '"' {
				cur.WriteByte('"') // "" inside quotes is a literal quote
				i++
			} else {
				quoted = !quoted
			}
			inArg = true
		case (ch == ' ' || ch == '\t') && !quoted:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(ch)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}
