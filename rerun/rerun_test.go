package rerun

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSignVerify(t *testing.T) {
	body := []byte(`{"rerun_of":"run_1"}`)
	sig := Sign("whsec_x", body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != 7+64 {
		t.Fatal(sig)
	}
	if !Verify("whsec_x", body, sig) || Verify("whsec_y", body, sig) || Verify("whsec_x", []byte(`{}`), sig) {
		t.Fatal("verify")
	}
	if a, b := NewSecret(), NewSecret(); a == b || !strings.HasPrefix(a, "whsec_") {
		t.Fatal(a, b)
	}
}

func TestOverridesCheck(t *testing.T) {
	o := Overrides{Input: []byte("null")}
	if err := o.check(); err != nil || o.Input != nil || !o.empty() {
		t.Fatalf("%v %+v", err, o)
	}
	o = Overrides{Model: strings.Repeat("m", 129)}
	if err := o.check(); err == nil || !strings.HasPrefix(err.Error(), "invalid: model:") {
		t.Fatal(err)
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes: byte 300 falls inside no rune, 301 inside one
	for in, want := range map[string]string{
		"  a\n\tb  ":             "a b",
		"nul\x00in":              "nul\uFFFDin",
		"bad\xffbyte":            "bad\uFFFDbyte",
		long:                     strings.Repeat("é", 150) + "…",
		"x" + long:               "x" + strings.Repeat("é", 149) + "…",
		strings.Repeat("a", 300): strings.Repeat("a", 300),
	} {
		got := excerpt([]byte(in), 300)
		if got != want || !utf8.ValidString(got) {
			t.Errorf("excerpt(%.20q) = %.40q, want %.40q", in, got, want)
		}
	}
}
