package rerun

import (
	"strings"
	"testing"
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
