package config

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// describe names the JSON type of a decoded value for messages.
func describe(v any) string {
	switch t := v.(type) {
	case *object:
		return "an object"
	case []any:
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", t)
	case json.Number:
		return "the number " + t.String()
	case bool:
		return "the boolean " + strconv.FormatBool(t)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// doubleEncodedHint explains where double-encoded settings come from.
const doubleEncodedHint = `The settings were converted to JSON twice, which PowerShell does when a JSON string is passed where an object is expected (ConvertTo-Json of a string, or a JSON string inside a hashtable); the KeyVault extension itself fails on this with "Failed to parse the configuration settings with: not an object". Pass the object itself: -Settings with a hashtable, or -SettingString (Get-Content -Raw settings.json)`

// asObject returns v as an object. A JSON string that contains an object
// (double-encoded settings) is decoded with a warning.
func (r *report) asObject(v any, path, what string) (*object, bool) {
	return r.object(v, path, what, "the value is a JSON string that contains the object (double-encoded); akvvm decoded it")
}

// asSettingsObject returns v, the extension's settings object (the file,
// or the part of it that holds the settings), as an object.
func (r *report) asSettingsObject(v any, path string) (*object, bool) {
	return r.object(v, path, "the settings object", "the settings are a JSON string that contains the settings object (double-encoded); akvvm decoded it")
}

func (r *report) object(v any, path, what, decoded string) (*object, bool) {
	switch t := v.(type) {
	case *object:
		return t, true
	case string:
		if inner, ok := decodeEmbedded(t, path, r); ok {
			r.warn(path, decoded, doubleEncodedHint)
			return inner, true
		}
	}
	r.add(path, fmt.Sprintf("must be %s, but is %s", what, describe(v)), objectHint(v))
	return nil, false
}

func objectHint(v any) string {
	if _, ok := v.([]any); ok {
		return "Write one object in braces {...}, not a list."
	}
	return "Write an object in braces {...}."
}

// decodeEmbedded decodes a string that holds a JSON object, the object at
// path; with r it reports lone surrogate escapes as decodeValue does.
func decodeEmbedded(s, path string, r *report) (*object, bool) {
	trimmed := strings.TrimSpace(s)
	if !strings.HasPrefix(trimmed, "{") || !json.Valid([]byte(trimmed)) {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(trimmed))
	dec.UseNumber()
	v, err := decodeValue(dec, []byte(trimmed), path, r)
	if err != nil {
		return nil, false
	}
	o, ok := v.(*object)
	return o, ok
}

// asString returns v as a string.
func (r *report) asString(v any, path string) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	r.add(path, "must be a string, but is "+describe(v), "Put the value in double quotes.")
	return "", false
}

// asBool accepts a JSON boolean or the strings "true" and "false" in any case.
func (r *report) asBool(v any, path string) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	r.add(path, "must be true or false, but is "+describe(v), "Write true or false.")
	return false, false
}

// maxSeconds is the most seconds a time.Duration holds.
const maxSeconds = math.MaxInt64 / int64(time.Second)

// asSeconds accepts a whole number of seconds as a JSON number or a string.
func (r *report) asSeconds(v any, path string) (int64, bool) {
	var text string
	switch t := v.(type) {
	case json.Number:
		text = t.String()
	case string:
		text = strings.TrimSpace(t)
	default:
		r.add(path, "must be a number of seconds, but is "+describe(v), `Write the seconds as a string, such as "3600".`)
		return 0, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		if f, ferr := strconv.ParseFloat(text, 64); ferr == nil && f == float64(int64(f)) {
			n, err = int64(f), nil
		}
	}
	if err != nil || n <= 0 {
		r.add(path, "must be a positive whole number of seconds, but is "+describe(v), `Write the seconds as a string, such as "3600".`)
		return 0, false
	}
	if n > maxSeconds {
		// Larger values overflow time.Duration and would turn negative.
		r.add(path, fmt.Sprintf("is %d seconds, more than akvvm can wait (about 292 years)", n), `Write the seconds as a string, such as "3600".`)
		return 0, false
	}
	return n, true
}

// asStringList returns v as a list of non-empty strings.
func (r *report) asStringList(v any, path, example string) ([]string, bool) {
	items, isList := v.([]any)
	if !isList {
		if s, isString := v.(string); isString {
			r.add(path, "must be a list of strings, but is "+describe(v), fmt.Sprintf("Put the value in brackets: [%q].", s))
		} else {
			r.add(path, "must be a list of strings, but is "+describe(v), "Write a list such as "+example+".")
		}
		return nil, false
	}
	out := make([]string, 0, len(items))
	ok := true
	for i, item := range items {
		s, isString := item.(string)
		switch {
		case !isString:
			r.add(index(path, i), "must be a string, but is "+describe(item), "Put the value in double quotes.")
			ok = false
		case strings.TrimSpace(s) == "":
			r.add(index(path, i), "is empty", "Remove the empty entry.")
			ok = false
		default:
			out = append(out, s)
		}
	}
	return out, ok
}
