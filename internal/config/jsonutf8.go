package config

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// checkUTF8 reports the first byte of data that is not valid UTF-8, which
// a JSON decoder would silently turn into U+FFFD.
func checkUTF8(data []byte, path string, r *report) bool {
	if utf8.Valid(data) {
		return true
	}
	off := 0
	for off < len(data) {
		c, size := utf8.DecodeRune(data[off:])
		if c == utf8.RuneError && size == 1 {
			break
		}
		off += size
	}
	line, col := position(data, off)
	r.add(path, fmt.Sprintf("the settings are not valid UTF-8: byte 0x%02X at line %d, column %d (byte offset %d)", data[off], line, col, off),
		"Save the settings as UTF-8; a JSON decoder would replace the byte with U+FFFD and akvvm would use a name nobody wrote")
	return false
}

// loneSurrogate returns the first \u escape in the raw JSON string token
// raw that is half of a UTF-16 surrogate pair without its other half, or
// "". Go's decoder silently turns such an escape into U+FFFD.
func loneSurrogate(raw []byte) string {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		u, ok := hex4(raw, i+1)
		if !ok {
			continue
		}
		esc := string(raw[i-1 : i+5])
		i += 4
		switch {
		case u >= 0xDC00 && u <= 0xDFFF:
			return esc
		case u >= 0xD800 && u <= 0xDBFF:
			if i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo, ok := hex4(raw, i+3); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					i += 6
					continue
				}
			}
			return esc
		}
	}
	return ""
}

// hex4 parses the four hex digits of a \u escape at raw[i:].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(raw[i:i+4]), 16, 16)
	return rune(n), err == nil
}

// checkSurrogates reports a lone surrogate escape in the raw string token
// raw: the value at path, or with key a field name of the object at path.
func checkSurrogates(raw []byte, path string, key bool, r *report) {
	if esc := loneSurrogate(raw); esc != "" {
		what := "contains"
		if key {
			what = "has a field name that contains"
		}
		r.add(path, fmt.Sprintf(`%s the escape %s, half of a UTF-16 surrogate pair without its other half`, what, esc),
			`Write the character itself, or both halves of its pair (such as \ud83d\ude00); a JSON decoder would replace the lone half with U+FFFD`)
	}
}

// loneSurrogateUnits reports whether UTF-16 text has a surrogate without
// its other half, which utf16.Decode would turn into U+FFFD.
func loneSurrogateUnits(units []uint16) (int, bool) {
	for i := 0; i < len(units); i++ {
		u := rune(units[i])
		if !utf16.IsSurrogate(u) {
			continue
		}
		if u <= 0xDBFF && i+1 < len(units) && units[i+1] >= 0xDC00 && units[i+1] <= 0xDFFF {
			i++
			continue
		}
		return i, true
	}
	return 0, false
}
