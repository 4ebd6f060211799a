package certbundle

import (
	"strings"
	"testing"
)

// TestDroppedNames: a dropped certificate is named by subject and serial,
// a long subject cut short, and the list is one line.
func TestDroppedNames(t *testing.T) {
	long := strings.Repeat("x", 200)
	c := issue(t, certSpec{cn: long, ca: true}, newKey(t, algP256), nil, nil)
	d := DroppedCert{Cert: c, Reason: "not in the verified chain of the leaf"}
	s := d.String()
	if !strings.HasPrefix(s, `"CN=`) || !strings.Contains(s, "…\" (serial "+c.SerialNumber.Text(16)+"): not in the verified chain") {
		t.Errorf("String() = %q", s)
	}
	if n := len([]rune(s[:strings.Index(s, " (serial")])); n > maxNameLen+3 {
		t.Errorf("subject shown with %d runes, want at most %d", n, maxNameLen)
	}
	list := DroppedList([]DroppedCert{d, d})
	if strings.Count(list, "; ") != 1 || strings.Contains(list, "\n") {
		t.Errorf("DroppedList = %q", list)
	}
	if DroppedList(nil) != "" {
		t.Error("DroppedList(nil) is not empty")
	}
}
