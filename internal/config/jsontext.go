package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// object is a JSON object that keeps its keys in document order.
type object struct {
	keys []string
	vals map[string]any
	// dups lists keys that appear more than once (the last value wins).
	dups []string
}

// decodeText turns settings text into a tree of *object, []any, string,
// json.Number, bool and nil. It repairs what it safely can (byte order
// marks, UTF-16, backslash-escaped quotes) with a warning in r, and
// reports malformed JSON with its line and column.
func decodeText(data []byte, path string, r *report) (any, bool) {
	data, ok := normaliseEncoding(data, path, r)
	if !ok || !checkUTF8(data, path, r) {
		return nil, false
	}
	if len(bytes.TrimSpace(data)) == 0 {
		r.add(path, "the settings are empty", `Write the settings object, such as {"secretsManagementSettings": {"observedCertificates": [...]}}`)
		return nil, false
	}
	var probe any
	err := json.Unmarshal(data, &probe)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if fixed, ok := unescapeQuotes(data); ok {
			r.warn(path, `the settings text has backslash-escaped quotes (\") around every name and value; akvvm removed the backslashes`,
				`The escapes come from a command line (PowerShell or cmd quoting of az --settings, or a string built in PowerShell) and do not belong in the JSON; the KeyVault extension itself fails on them with "Failed to parse the configuration settings with: not an object". Write plain double quotes, or keep the settings in a file and pass --settings "@settings.json"`)
			data = fixed
		} else {
			r.add(path, syntaxMessage(data, se), syntaxHint(data, se))
			return nil, false
		}
	} else if err != nil {
		r.add(path, "the settings are not JSON: "+err.Error(), "Save the settings as a UTF-8 JSON file.")
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, data, path, r)
	if err != nil {
		// Unreachable for text json.Unmarshal accepted; reported rather than ignored.
		r.add(path, "the settings could not be decoded: "+err.Error(), "Check the JSON syntax.")
		return nil, false
	}
	return v, true
}

// normaliseEncoding strips a UTF-8 byte order mark and converts UTF-16.
func normaliseEncoding(data []byte, path string, r *report) ([]byte, bool) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:], true
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		r.warn(path, "the settings file is UTF-16 text; akvvm converted it",
			"Windows PowerShell 5.1 writes UTF-16 with > and Out-File; save the file as UTF-8 (Out-File -Encoding utf8) so every tool reads it")
		units := utf16Units(data[2:], data[0] == 0xFE)
		if i, bad := loneSurrogateUnits(units); bad {
			r.add(path, fmt.Sprintf("the UTF-16 settings text has half of a surrogate pair without its other half (code unit %d)", i),
				"Save the settings as UTF-8; a decoder would replace it with U+FFFD and akvvm would use a name nobody wrote")
			return nil, false
		}
		return []byte(string(utf16.Decode(units))), true
	case bytes.IndexByte(data, 0) >= 0:
		r.add(path, "the settings contain NUL bytes", "The file looks like UTF-16 without a byte order mark; save it as UTF-8.")
		return nil, false
	}
	return data, true
}

// utf16Units splits UTF-16 text into its code units.
func utf16Units(b []byte, bigEndian bool) []uint16 {
	units := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if bigEndian {
			units = append(units, uint16(b[i])<<8|uint16(b[i+1]))
		} else {
			units = append(units, uint16(b[i+1])<<8|uint16(b[i]))
		}
	}
	return units
}

// unescapeQuotes repairs text such as {\"a\": \"b\"}: it returns the text
// with \" and \\ unescaped when that yields a JSON object.
func unescapeQuotes(data []byte) ([]byte, bool) {
	if !bytes.Contains(data, []byte(`\"`)) {
		return nil, false
	}
	fixed := strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(string(data))
	var v any
	if json.Unmarshal([]byte(fixed), &v) != nil {
		return nil, false
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, false
	}
	return []byte(fixed), true
}

// position returns the 1-based line and column (in characters) of byte offset off.
func position(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCount(before[start:])
}

// badOffset is the byte offset of the character a syntax error is about.
func badOffset(data []byte, se *json.SyntaxError) int {
	if strings.Contains(se.Error(), "unexpected end") {
		return len(data)
	}
	return int(se.Offset) - 1
}

func syntaxMessage(data []byte, se *json.SyntaxError) string {
	line, col := position(data, badOffset(data, se))
	return fmt.Sprintf("malformed JSON at line %d, column %d: %s", line, col, se.Error())
}

// syntaxHint guesses the usual cause of a syntax error from the text around it.
func syntaxHint(data []byte, se *json.SyntaxError) string {
	off := badOffset(data, se)
	text := string(data)
	var bad byte
	if off < len(data) {
		bad = data[off]
	}
	prev := strings.TrimRight(string(data[:off]), " \t\r\n")
	msg := se.Error()
	switch {
	case strings.HasPrefix(strings.TrimSpace(text), "@{") || strings.Contains(text, "= @{"):
		return "This is a PowerShell hashtable, not JSON: convert it with ($settings | ConvertTo-Json -Depth 10), or pass the hashtable itself to -Settings."
	case strings.Contains(text, `\"`):
		return `The text contains \" escapes: they belong to a command line (PowerShell or cmd quoting), not to JSON. Write plain double quotes.`
	case bad == '\'':
		return "JSON needs double quotes around names and strings; replace the single quotes."
	case bad == '<':
		return "<...> is a placeholder copied from the documentation: replace it with a real value (in double quotes when it is a string)."
	case bytes.HasPrefix(data[off:], []byte("“")) || bytes.HasPrefix(data[off:], []byte("”")) || bytes.HasPrefix(data[off:], []byte("‘")):
		return `Replace the typographic quotes with plain double quotes (").`
	case bad == '/' && off+1 < len(data) && (data[off+1] == '/' || data[off+1] == '*'):
		return "JSON has no comments; remove them."
	case (bad == '}' || bad == ']') && strings.HasSuffix(prev, ","):
		return "Remove the comma before it: JSON allows no trailing comma."
	case strings.Contains(msg, "unexpected end"):
		return "The text ends before the JSON is complete: a closing } or ] (or a quote) is missing."
	case strings.Contains(msg, "after top-level value"):
		return "There is more text after the settings object; keep exactly one JSON object in the file."
	case strings.Contains(msg, "after object key:value pair"), strings.Contains(msg, "after array element"):
		return "A comma is missing before this point."
	case strings.Contains(msg, "after object key"):
		return "A colon is missing after the field name."
	}
	return "Fix the JSON syntax at that position."
}

// decodeValue reads the value at path in document order and reports a
// lone surrogate escape in any of its strings (see checkSurrogates). It is
// only used on data, text that is already known to be valid JSON.
func decodeValue(dec *json.Decoder, data []byte, path string, r *report) (any, error) {
	tok, err := token(dec, data, path, false, r)
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{vals: map[string]any{}}
			for dec.More() {
				kt, err := token(dec, data, path, true, r)
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec, data, field(path, k), r)
				if err != nil {
					return nil, err
				}
				if _, seen := o.vals[k]; seen {
					o.dups = append(o.dups, k)
				} else {
					o.keys = append(o.keys, k)
				}
				o.vals[k] = v
			}
			_, err := dec.Token()
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeValue(dec, data, index(path, len(a)), r)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

// token reads the next token and, with r, checks the raw text of a
// string token: a value at path, or a field name of the object at path.
func token(dec *json.Decoder, data []byte, path string, key bool, r *report) (json.Token, error) {
	start := dec.InputOffset()
	tok, err := dec.Token()
	if _, isString := tok.(string); isString && err == nil && r != nil {
		checkSurrogates(data[start:dec.InputOffset()], path, key, r)
	}
	return tok, err
}
