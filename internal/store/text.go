package store

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// charNames names the characters textProblem refuses most often.
var charNames = map[rune]string{
	0x00:   "NUL",
	'\t':   "CHARACTER TABULATION",
	'\n':   "LINE FEED",
	'\r':   "CARRIAGE RETURN",
	0x1B:   "ESCAPE",
	0x7F:   "DELETE",
	0x061C: "ARABIC LETTER MARK",
	0x200E: "LEFT-TO-RIGHT MARK",
	0x200F: "RIGHT-TO-LEFT MARK",
	0x202A: "LEFT-TO-RIGHT EMBEDDING",
	0x202B: "RIGHT-TO-LEFT EMBEDDING",
	0x202C: "POP DIRECTIONAL FORMATTING",
	0x202D: "LEFT-TO-RIGHT OVERRIDE",
	0x202E: "RIGHT-TO-LEFT OVERRIDE",
	0x2066: "LEFT-TO-RIGHT ISOLATE",
	0x2067: "RIGHT-TO-LEFT ISOLATE",
	0x2068: "FIRST STRONG ISOLATE",
	0x2069: "POP DIRECTIONAL ISOLATE",
}

// IsBidiControl reports whether r is a Unicode bidirectional control
// character: one that reorders the text around it when displayed, so a
// name shows differently from what it is.
func IsBidiControl(r rune) bool {
	switch {
	case r == 0x061C, r == 0x200E, r == 0x200F:
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// CodePoint renders r as U+XXXX with its name when known, such as
// "U+202E (RIGHT-TO-LEFT OVERRIDE)".
func CodePoint(r rune) string {
	if name, ok := charNames[r]; ok {
		return fmt.Sprintf("%U (%s)", r, name)
	}
	return fmt.Sprintf("%U", r)
}

// textProblem says what makes s unfit for a name or a path: invalid
// UTF-8, a control character (C0, DEL or C1) or a bidirectional control.
// It returns "" when s is fit.
func textProblem(s string) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && isInvalidAt(s, i):
			return fmt.Sprintf("is not valid UTF-8: byte 0x%02X at offset %d", s[i], i)
		case unicode.IsControl(r):
			return "contains " + CodePoint(r) + ", a control character"
		case IsBidiControl(r):
			return "contains " + CodePoint(r) + ", a bidirectional control character that makes the text display differently from what it is"
		}
	}
	return ""
}

// isInvalidAt reports whether the bytes of s at i are not valid UTF-8.
func isInvalidAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 1
}
