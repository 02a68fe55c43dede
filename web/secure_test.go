package web

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestSecureBehindProxy(t *testing.T) {
	for _, c := range []struct {
		proto string
		tls   bool
		want  bool
	}{
		{"", false, false},
		{"http", false, false},
		{"https", false, true},
		{"HTTPS, http", false, true},
		{"http, https", false, false}, // the first hop is the client's
		{"", true, true},
	} {
		r := httptest.NewRequest("GET", "/login", nil)
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := secure(r); got != c.want {
			t.Errorf("X-Forwarded-Proto %q, TLS %v: secure = %v, want %v", c.proto, c.tls, got, c.want)
		}
	}
}
