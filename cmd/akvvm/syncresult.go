package main

import (
	"fmt"

	"github.com/akvvm/akvvm/internal/agent"
)

// The exit codes of sync --once (exitInvalidSettings is 2).
const (
	exitAllCurrent   = 0
	exitNotInstalled = 1
	exitStale        = 3
)

// syncResult is the verdict of one sync pass: its exit code and a line
// that says the same in words.
type syncResult struct {
	code    int
	summary string
}

// judgeSync tells a script what a pass achieved. The agent's phase cannot:
// without requireInitialSync it is "success" even when nothing is installed,
// and an installed certificate whose check failed still counts as installed.
// A validity warning (near or past expiry) keeps exit code 0 and is named.
func judgeSync(st agent.Status) syncResult {
	var missing, failed, reload, expiring []string
	for _, c := range st.Certificates {
		if c.ValidityWarning != "" {
			expiring = append(expiring, c.Key)
		}
		switch {
		case !c.Installed():
			missing = append(missing, c.Key)
		case c.LastError != "":
			failed = append(failed, c.Key)
		case c.HookError != "":
			reload = append(reload, c.Key)
		}
	}
	total := len(st.Certificates)
	all := fmt.Sprintf("all %d certificates", total)
	of := fmt.Sprintf("%d certificates", total)
	if n := agent.CountKinds(st.Certificates); n.Secrets > 0 {
		all, of = "all of "+n.Total(), n.Total()
	}
	switch {
	case len(missing) > 0:
		return syncResult{exitNotInstalled, fmt.Sprintf("%d of %s not installed: %s",
			len(missing), of, agent.KeyList(missing, 10))}
	case len(failed) > 0:
		return syncResult{exitStale, fmt.Sprintf("%s installed, but this pass failed for %d of them, so they may be out of date: %s",
			all, len(failed), agent.KeyList(failed, 10))}
	case len(reload) > 0:
		return syncResult{exitStale, fmt.Sprintf("%s installed, but the reload command failed for %d of them: %s",
			all, len(reload), agent.KeyList(reload, 10))}
	}
	msg := all + " installed and current"
	if len(expiring) > 0 {
		msg += fmt.Sprintf(", %d with a validity warning (see akvvm status): %s", len(expiring), agent.KeyList(expiring, 10))
	}
	return syncResult{exitAllCurrent, msg}
}
