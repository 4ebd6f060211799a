package config

import (
	"strings"
	"testing"
)

// TestParseRefusesInvalidUTF8 checks that a byte that is not UTF-8 is
// refused with its position instead of becoming U+FFFD.
func TestParseRefusesInvalidUTF8(t *testing.T) {
	text := "{\"secretsManagementSettings\": {\n  \"observedCertificates\": [{\"url\": \"https://myvault.vault.azure.net/secrets/c\", \"customSymbolicLinkName\": \"ab\xffc\"}]}}"
	errs := parseErrors(t, lin30, text)
	want := "the settings are not valid UTF-8: byte 0xFF at line 2, column 110 (byte offset 141). Save the settings as UTF-8"
	if len(errs) != 1 || errs[0].Path != "" || !strings.Contains(errs[0].String(), want) {
		t.Fatalf("got %v, want one problem of the whole text containing %q", errs, want)
	}
}

// TestParseRefusesLoneSurrogates checks that an escape Go's decoder would
// turn into U+FFFD is refused with the path of its field.
func TestParseRefusesLoneSurrogates(t *testing.T) {
	entry := func(link string) string {
		return sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "customSymbolicLinkName": "` + link + `"}]`)
	}
	const path = "secretsManagementSettings.observedCertificates[0].customSymbolicLinkName"
	for _, tt := range []struct{ link, esc string }{
		{`a\ud800b`, `\ud800`},
		{`a\uDBFF`, `\uDBFF`},
		{`a\udc00b`, `\udc00`},
		{`\ud83d\u0041`, `\ud83d`},
		{`\ude00\ud83d`, `\ude00`},
	} {
		errs := parseErrors(t, lin30, entry(tt.link))
		want := "contains the escape " + tt.esc + ", half of a UTF-16 surrogate pair without its other half"
		if len(errs) == 0 || errs[0].Path != path || !strings.Contains(errs[0].Message, want) {
			t.Errorf("%s: got %v, want %s: %s", tt.link, errs, path, want)
		}
	}
	if _, err := Parse([]byte(entry(`app\ud83d\ude00`)), Options{Schema: lin30}); err != nil {
		t.Errorf("a complete surrogate pair: %v", err)
	}
	key := `{"secretsManagementSettings": {"a\ud800": 1, ` + oneCert40 + `}}`
	if errs := parseErrors(t, lin30, key); len(errs) == 0 || errs[0].Path != "secretsManagementSettings" || !strings.HasPrefix(errs[0].Message, `has a field name that contains the escape \ud800`) {
		t.Errorf("a lone surrogate in a key: got %v", errs)
	}
}

// TestLoneSurrogate checks the scan of raw string tokens.
func TestLoneSurrogate(t *testing.T) {
	for raw, want := range map[string]string{
		`"plain"`:                 "",
		`"\\ud800"`:               "",
		`"\\\ud800"`:              `\ud800`,
		`"\ud83d\ude00"`:          "",
		`"\ud83d\ude00\ud83d"`:    `\ud83d`,
		`"\ud83d"`:                `\ud83d`,
		`"\u00e4\ud800"`:          `\ud800`,
		`: "\u0041"`:              "",
		`"\ud83d\\ude00"`:         `\ud83d`,
		`"\uD83D\uDE00 and more"`: "",
	} {
		if got := loneSurrogate([]byte(raw)); got != want {
			t.Errorf("loneSurrogate(%s) = %q, want %q", raw, got, want)
		}
	}
}

// TestParseRefusesUTF16LoneSurrogate checks UTF-16 text with half a pair.
func TestParseRefusesUTF16LoneSurrogate(t *testing.T) {
	text := sms(oneCert40)
	data := []byte{0xFF, 0xFE}
	for _, c := range text {
		data = append(data, byte(c), 0)
	}
	data = append(data, 0x00, 0xD8) // U+D800, little-endian, at the end
	errs := parseErrors(t, lin30, string(data))
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "half of a surrogate pair without its other half") {
		t.Fatalf("got %v", errs)
	}
}
