package wine

import (
	"os"
	"testing"
)

// TestVersion checks the detection the Windows tests rely on to skip: under
// scripts/test-windows.sh AKVVM_EXPECT_WINE=1 makes a miss a failure.
func TestVersion(t *testing.T) {
	v := Version()
	t.Logf("wine_get_version: %q", v)
	if os.Getenv("AKVVM_EXPECT_WINE") == "1" && v == "" {
		t.Fatal("AKVVM_EXPECT_WINE=1 but wine_get_version was not found")
	}
}

// SkipUnder is exercised by the other packages' tests; here it must not
// skip on real Windows.
func TestSkipUnderNamesTheGap(t *testing.T) {
	if Version() != "" {
		t.Skip("under Wine SkipUnder would skip this test")
	}
	SkipUnder(t, "nothing")
}
