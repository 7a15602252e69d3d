package cpts_test

import (
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
)

const limitsContract = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"

func signLine(commandID, fields string) string {
	return `{"type":"SignContract","command_id":"` + commandID + `","contract_id":"` + limitsContract + `",` + fields + `}`
}

// Every limit of docs/domain.md, just under (decoded) and just over
// (rejected, naming the field and the rule).
func TestLimitsJustUnderAndJustOver(t *testing.T) {
	base := signFields(50_000, "2020-01-15", false)
	with := func(old, new string) string {
		if !strings.Contains(base, old) {
			t.Fatalf("%q not in %s", old, base)
		}
		return signLine("c1", strings.Replace(base, old, new, 1))
	}
	name := func(n int) string { return strings.Repeat("é", n) }
	indicators := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"mission":"access","code":"a` + strings.Repeat("x", i%7) + `","weight":"0.01","target":"1"}`)
		}
		return `"indicators":[` + b.String() + `]`
	}
	withIndicators := func(n int) string {
		return signLine("c1", strings.Replace(base, base[strings.Index(base, `"indicators"`):], indicators(n), 1))
	}
	cases := []struct {
		name        string
		under, over string
		code, field string
	}{
		{"cpts_name", with(`"name":"CPTS Test"`, `"name":"`+name(200)+`"`), with(`"name":"CPTS Test"`, `"name":"`+name(201)+`"`), "too_long", "cpts.name"},
		{"cpam", with(`"cpam":"CPAM Test"`, `"cpam":"`+name(200)+`"`), with(`"cpam":"CPAM Test"`, `"cpam":"`+name(201)+`"`), "too_long", "cpam"},
		{"command_id", signLine(strings.Repeat("c", 128), base), signLine(strings.Repeat("c", 129), base), "too_long", "command_id"},
		{"signed_on_upper_bound", with(`"signed_on":"2020-01-15"`, `"signed_on":"2099-12-31"`), with(`"signed_on":"2020-01-15"`, `"signed_on":"2100-01-01"`), "date_out_of_range", "signed_on"},
		{"signed_on_far_future", with(`"signed_on":"2020-01-15"`, `"signed_on":"2099-12-31"`), with(`"signed_on":"2020-01-15"`, `"signed_on":"9999-12-31"`), "date_out_of_range", "signed_on"},
		{"signed_on_lower_bound", with(`"signed_on":"2020-01-15"`, `"signed_on":"2019-08-25"`), with(`"signed_on":"2020-01-15"`, `"signed_on":"2019-08-24"`), "date_out_of_range", "signed_on"},
		{"population", with(`"population":50000`, `"population":1000000000`), with(`"population":50000`, `"population":1000000001`), "invalid_number", "population"},
		{"decimal_places", with(`"target":"100"`, `"target":"100.123456"`), with(`"target":"100"`, `"target":"100.1234567"`), "invalid_number", "indicators[0].target"},
		{"decimal_magnitude", with(`"target":"100"`, `"target":"999999999999"`), with(`"target":"100"`, `"target":"1000000000000"`), "invalid_number", "indicators[0].target"},
		{"decimal_exponent", with(`"target":"100"`, `"target":"100"`), with(`"target":"100"`, `"target":"1e999999999"`), "invalid_number", "indicators[0].target"},
		{"indicators_count", withIndicators(100), withIndicators(101), "too_many", "indicators"},
		{"control_character", with(`"name":"CPTS Test"`, `"name":"CPTS\u00a0Test"`), with(`"name":"CPTS Test"`, `"name":"CPTS\nTest"`), "control_character", "cpts.name"},
		{"bidi_in_name", with(`"name":"CPTS Test"`, `"name":"CPTS T\u00e9st"`), with(`"name":"CPTS Test"`, `"name":"CPTS \u202eTest"`), "control_character", "cpts.name"},
		{"bidi_isolate_in_ars", with(`"ars":"ARS Centre-Val de Loire"`, `"ars":"ARS Centre-Val de Loire"`), with(`"ars":"ARS Centre-Val de Loire"`, `"ars":"ARS \u2066Test"`), "control_character", "ars"},
		{"zero_width_space_in_name", with(`"name":"CPTS Test"`, `"name":"CPTS Test"`), with(`"name":"CPTS Test"`, `"name":"CPTS\u200bTest"`), "control_character", "cpts.name"},
		{"soft_hyphen_in_ars", with(`"ars":"ARS Centre-Val de Loire"`, `"ars":"ARS Centre-Val de Loire"`), with(`"ars":"ARS Centre-Val de Loire"`, `"ars":"ARS Te\u00adst"`), "control_character", "ars"},
		{"byte_order_mark_in_cpam", with(`"cpam":"CPAM Test"`, `"cpam":"CPAM Test"`), with(`"cpam":"CPAM Test"`, `"cpam":"\ufeffCPAM Test"`), "control_character", "cpam"},
		{"line_separator_in_name", with(`"name":"CPTS Test"`, `"name":"CPTS Test"`), with(`"name":"CPTS Test"`, `"name":"CPTS\u2028Test"`), "control_character", "cpts.name"},
		{"paragraph_separator_in_name", with(`"name":"CPTS Test"`, `"name":"CPTS Test"`), with(`"name":"CPTS Test"`, `"name":"CPTS\u2029Test"`), "control_character", "cpts.name"},
		{"key_case", with(`"population":50000`, `"population":50000`), with(`"population":50000`, `"POPULATION":50000`), "unknown_field", "POPULATION"},
		{"duplicate_key", with(`"population":50000`, `"population":50000`), with(`"population":50000`, `"population":50000,"population":60000`), "duplicate_field", "population"},
		{"invalid_utf8", with(`"name":"CPTS Test"`, `"name":"CPTS Tést"`), with(`"name":"CPTS Test"`, "\"name\":\"CPTS T\xe9st\""), "invalid_utf8", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cpts.DecodeCommand([]byte(tc.under)); err != nil {
				t.Fatalf("just under the limit: %v", err)
			}
			_, err := cpts.DecodeCommand([]byte(tc.over))
			var re *domain.RejectedError
			if err == nil || !asRejected(err, &re) || !re.Has(tc.code) {
				t.Fatalf("just over the limit: %v, want %s", err, tc.code)
			}
			found := false
			for _, v := range re.Violations {
				found = found || (v.Code == tc.code && v.Field == tc.field)
			}
			if !found {
				t.Fatalf("just over the limit: %v, want %s on %q", re.Violations, tc.code, tc.field)
			}
		})
	}
}

// The line's length is checked before anything else.
func TestLineLongerThanOneMiB(t *testing.T) {
	pad := `,"pad":"` + strings.Repeat("x", domain.MaxCommandBytes) + `"`
	_, err := cpts.DecodeCommand([]byte(signLine("c1", signFields(50_000, "2020-01-15", false)+pad)))
	var re *domain.RejectedError
	if !asRejected(err, &re) || !re.Has(domain.CodeLineTooLong) {
		t.Fatalf("%v, want line_too_long", err)
	}
}

func asRejected(err error, re **domain.RejectedError) bool {
	r, ok := err.(*domain.RejectedError)
	*re = r
	return ok
}
