package transport

import "testing"

// FuzzParseRoute checks that a route ParseRoute accepts formats back to
// text it reads as the same route, and that only a leading "*." wildcard
// gets through.
func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"*.vault.azure.net=127.0.0.1:8443", "169.254.169.254:80=127.0.0.1:8080", "a=b", "*.*.x=1:2", "[::1]:443=[::1]:8443", "=", "x=y:z", "[:]:=:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRoute(s)
		if err != nil {
			return
		}
		again, err := ParseRoute(r.String())
		if err != nil {
			t.Fatalf("ParseRoute(%q) = %+v, whose String %q does not parse: %v", s, r, r.String(), err)
		}
		if again != r {
			t.Fatalf("round trip of %q: %+v then %+v", s, r, again)
		}
	})
}
