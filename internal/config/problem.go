package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Problem is one thing wrong with the settings.
type Problem struct {
	// Path is the JSON path, such as secretsManagementSettings.observedCertificates[2].url;
	// empty for the document as a whole.
	Path string
	// Message says what is wrong.
	Message string
	// Hint says how to fix it.
	Hint string
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

// Error renders each problem on its own line.
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

func (r *report) add(path, msg, hint string)  { r.errs = append(r.errs, Problem{path, msg, hint}) }
func (r *report) warn(path, msg, hint string) { r.warns = append(r.warns, Problem{path, msg, hint}) }

// field joins a JSON path and an object key.
func field(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index joins a JSON path and an array index.
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
