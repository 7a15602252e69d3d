package console

import "testing"

// A redirect after sign-in stays on this site, judged as a browser reads
// the target (the red team's "/%09/evil.example" arrives as "/\t/evil.example",
// which a browser reads as "//evil.example").
func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/contracts":                    "/contracts",
		"/contracts/x?as_of=2022-01-01": "/contracts/x?as_of=2022-01-01",
		"":                              "/",
		"/\t/evil.example":              "/",
		"/\n/evil.example":              "/",
		"/\r/evil.example":              "/",
		"\t//evil.example":              "/",
		" //evil.example":               "/",
		"/\\evil.example":               "/",
		"\\\\evil.example":              "/",
		"//evil.example":                "/",
		"https://evil.example":          "/",
		"javascript:alert(1)":           "/",
		"/\x00/evil.example":            "/",
		"/a\x7fb":                       "/",
		"/alerts\t":                     "/alerts",
		"\x01/alerts":                   "/alerts",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
