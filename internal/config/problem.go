package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Problem is one thing wrong with the settings.
type Problem struct {
	// Path is the JSON path as the operator wrote it: inside the
	// extension's settings object, such as
	// secretsManagementSettings.observedCertificates[2].url, even when the
	// file wraps that object (Within); empty for the settings as a whole.
	// A problem of the wrapper itself (an ARM resource's
	// properties.typeHandlerVersion) has its path from the file's root and
	// an empty Within.
	Path string
	// Message says what is wrong.
	Message string
	// Hint says how to fix it.
	Hint string
	// Within is where the settings object sits in the file when the file
	// wraps it, such as runtimeSettings[0].handlerSettings.publicSettings
	// (the guest agent's file) or properties.settings (an ARM resource);
	// empty for a file that is the settings object.
	Within string
}

// FullPath is the path from the file's root: Within, then Path.
func (p Problem) FullPath() string {
	switch {
	case p.Within == "":
		return p.Path
	case p.Path == "":
		return p.Within
	case strings.HasPrefix(p.Path, "["):
		return p.Within + p.Path
	}
	return p.Within + "." + p.Path
}

// String renders "path: message. hint".
func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(strings.TrimSuffix(p.Message, "."))
	b.WriteString(".")
	if p.Hint != "" {
		b.WriteString(" ")
		b.WriteString(p.Hint)
		if !strings.HasSuffix(p.Hint, ".") && !strings.HasSuffix(p.Hint, "?") {
			b.WriteString(".")
		}
	}
	return b.String()
}

// Errors is every problem found in one run. It is the error Parse returns.
type Errors []Problem

// Within is where the file keeps the settings object the paths are inside
// (see Problem.Within), or "" when the file is the settings object.
func (e Errors) Within() string {
	for _, p := range e {
		if p.Within != "" {
			return p.Within
		}
	}
	return ""
}

// Error renders each problem on its own line, with the paths the operator
// wrote (inside the settings object).
func (e Errors) Error() string {
	if len(e) == 1 {
		return e[0].String()
	}
	lines := make([]string, 0, len(e)+1)
	lines = append(lines, fmt.Sprintf("%d problems in the settings:", len(e)))
	for _, p := range e {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// report collects problems and warnings while the settings are read.
type report struct {
	errs  Errors
	warns []Problem
}

func (r *report) add(path, msg, hint string) {
	r.errs = append(r.errs, Problem{Path: path, Message: msg, Hint: hint})
}

func (r *report) warn(path, msg, hint string) {
	r.warns = append(r.warns, Problem{Path: path, Message: msg, Hint: hint})
}

// relativeTo makes the paths of problems inside the settings object,
// found at within, relative to it: the operator wrote the settings, a tool
// or the guest agent wrapped them.
func relativeTo(ps []Problem, within string) {
	if within == "" {
		return
	}
	for i, p := range ps {
		switch {
		case p.Path == within:
			ps[i].Path = ""
		case strings.HasPrefix(p.Path, within+"."):
			ps[i].Path = p.Path[len(within)+1:]
		case strings.HasPrefix(p.Path, within+"["):
			ps[i].Path = p.Path[len(within):]
		default:
			continue
		}
		ps[i].Within = within
	}
}

// field joins a JSON path and an object key.
func field(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index joins a JSON path and an array index.
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
