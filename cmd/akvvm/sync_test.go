package main

import (
	"strings"
	"testing"
)

func TestSyncFlags(t *testing.T) {
	dir := t.TempDir()
	noService := "no running akvvm service uses state directory " + dir + " (is it started? give --state-dir)"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sync"}, "add --once to run it here or --now to ask the running service"},
		{[]string{"sync", "--once", "--now"}, "--once and --now exclude each other"},
		{[]string{"sync", "--now", "--settings", "s.json"}, "--now takes no --settings"},
		{[]string{"sync", "--now", "--state-dir", dir}, noService},
	}
	for _, tt := range tests {
		code, _, stderr := runAkvvm(t, "", tt.args...)
		if code != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("akvvm %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
}
