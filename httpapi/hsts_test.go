package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Under TLS every answer carries Strict-Transport-Security; over plain
// HTTP (loopback behind a proxy) none does.
func TestHSTSUnderTLS(t *testing.T) {
	s := New(Config{})
	for _, tc := range []struct {
		srv  *httptest.Server
		want string
	}{{httptest.NewTLSServer(s.Handler()), "max-age=31536000"}, {httptest.NewServer(s.Handler()), ""}} {
		res, err := tc.srv.Client().Get(tc.srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Strict-Transport-Security"); got != tc.want || res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, HSTS %q, want %q", tc.srv.URL, res.StatusCode, got, tc.want)
		}
		tc.srv.Close()
	}
}
