package wine

import "testing"

// SkipUnder skips t under Wine, naming the gap that makes Wine unfit, so
// the test output says what real Windows must still run.
func SkipUnder(t testing.TB, gap string) {
	t.Helper()
	if v := Version(); v != "" {
		t.Skipf("Wine %s: %s; real Windows must run this test", v, gap)
	}
}
