package cpts_test

import (
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain/cpts"
)

// Every rule a command can break, with its code and field; a rejected
// command produces no event (lifecycle.reject checks both).
func TestValidationRules(t *testing.T) {
	sign := func(population int, missions ...string) string {
		return signFields(population, "2020-01-15", false, missions...)
	}
	replace := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("%q not in %s", old, s)
		}
		return strings.Replace(s, old, new, 1)
	}
	signed := func(t *testing.T) *lifecycle {
		l := newLifecycle(t)
		l.sign(50_000, "2020-01-15", false)
		return l
	}
	cases := []struct {
		name        string
		given       func(t *testing.T) *lifecycle
		typ, fields string
		code, field string
	}{
		{"population_zero", newLifecycle, cpts.CmdSignContract, sign(0), "population_not_positive", "population"},
		{"population_negative", newLifecycle, cpts.CmdSignContract, sign(-5), "population_not_positive", "population"},
		{"unknown_mission", newLifecycle, cpts.CmdSignContract, sign(50_000, "access", "pathways", "prevention", "dentistry"), "unknown_mission", "missions[3]"},
		{"duplicate_mission", newLifecycle, cpts.CmdSignContract, replace(sign(50_000), `"missions":["access","pathways","prevention"]`, `"missions":["access","pathways","prevention","access"]`), "duplicate_mission", "missions[3]"},
		{"core_mission_missing", newLifecycle, cpts.CmdSignContract, sign(50_000, "access", "pathways"), "core_mission_missing", "missions"},
		{"mission_without_indicator", newLifecycle, cpts.CmdSignContract, replace(sign(50_000), `,{"mission":"prevention","code":"prevention-1","weight":"1","target":"100"}`, ""), "mission_without_indicator", "indicators"},
		{"weights_not_summing_to_one", newLifecycle, cpts.CmdSignContract, replace(sign(50_000), `"mission":"access","code":"access-1","weight":"1"`, `"mission":"access","code":"access-1","weight":"0.9"`), "weights_not_one", "indicators"},
		{"weight_out_of_range", newLifecycle, cpts.CmdSignContract, replace(sign(50_000), `"code":"access-1","weight":"1"`, `"code":"access-1","weight":"-1"`), "weight_out_of_range", "indicators[0].weight"},
		{"target_zero", newLifecycle, cpts.CmdSignContract, replace(sign(50_000), `"code":"access-1","weight":"1","target":"100"`, `"code":"access-1","weight":"1","target":"0"`), "target_not_positive", "indicators[0].target"},
		{"indicator_of_unknown_mission", newLifecycle, cpts.CmdSignContract, replace(sign(50_000), `{"mission":"access",`, `{"mission":"quality","code":"q","weight":"1","target":"1"},{"mission":"access",`), "indicator_unknown_mission", "indicators[0].mission"},
		{"duplicate_indicator", newLifecycle, cpts.CmdSignContract, replace(sign(50_000), `"weight":"1","target":"100"}`, `"weight":"0.5","target":"100"},{"mission":"access","code":"access-1","weight":"0.5","target":"100"}`), "duplicate_indicator", "indicators[1].code"},
		{"signed_before_the_aci", newLifecycle, cpts.CmdSignContract, signFields(50_000, "2019-08-24", false), "date_out_of_range", "signed_on"},
		{"second_signature", signed, cpts.CmdSignContract, sign(50_000), "contract_exists", "contract_id"},
		{"missing_population", newLifecycle, cpts.CmdSignContract, replace(sign(50_000), `"population":50000,`, ""), "missing_field", "population"},
		{"population_not_a_number", newLifecycle, cpts.CmdSignContract, replace(sign(50_000), `"population":50000`, `"population":"many"`), "invalid_number", "population"},
		{"wrong_date_format", newLifecycle, cpts.CmdSignContract, replace(sign(50_000), `"signed_on":"2020-01-15"`, `"signed_on":"15/01/2020"`), "invalid_date", "signed_on"},
		{"unknown_field", newLifecycle, cpts.CmdSignContract, sign(50_000) + `,"colour":"blue"`, "unknown_field", "colour"},
		{"command_on_unsigned_contract", newLifecycle, cpts.CmdStartMission, `"mission":"access","started_on":"2020-02-01"`, "contract_not_found", "contract_id"},
		{"start_unknown_mission", signed, cpts.CmdStartMission, `"mission":"quality","started_on":"2020-02-01"`, "unknown_mission", "mission"},
		{"start_before_signature", signed, cpts.CmdStartMission, `"mission":"access","started_on":"2020-01-14"`, "date_before_signature", "started_on"},
		{"start_after_contract", signed, cpts.CmdStartMission, `"mission":"access","started_on":"2025-01-15"`, "date_after_contract", "started_on"},
		{"start_twice", func(t *testing.T) *lifecycle { l := signed(t); l.start("access", "2020-02-01"); return l },
			cpts.CmdStartMission, `"mission":"access","started_on":"2020-03-01"`, "mission_already_started", "mission"},
		{"start_in_closed_year", func(t *testing.T) *lifecycle {
			l := signed(t)
			l.start("access", "2020-02-01")
			l.report(1, "2021-01-20", map[string]string{"access": "50"})
			l.decideDue("2021-02-01")
			return l
		}, cpts.CmdStartMission, `"mission":"pathways","started_on":"2020-06-01"`, "year_closed", "started_on"},
		{"missing_start_date", signed, cpts.CmdStartMission, `"mission":"access"`, "missing_field", "started_on"},
		{"deploy_before_start", signed, cpts.CmdDeployMission, `"mission":"access","deployed_on":"2020-06-01"`, "mission_not_started", "mission"},
		{"deploy_dated_before_start", func(t *testing.T) *lifecycle { l := signed(t); l.start("access", "2020-02-01"); return l },
			cpts.CmdDeployMission, `"mission":"access","deployed_on":"2020-01-20"`, "date_before_start", "deployed_on"},
		{"report_year_zero", signed, cpts.CmdReportIndicators, `"contract_year":0,"reported_on":"2021-02-01","values":[]`, "year_out_of_range", "contract_year"},
		{"report_beyond_year_5", signed, cpts.CmdReportIndicators, `"contract_year":6,"reported_on":"2026-02-01","values":[]`, "year_out_of_range", "contract_year"},
		{"report_before_year_ends", func(t *testing.T) *lifecycle { l := signed(t); l.start("access", "2020-02-01"); return l },
			cpts.CmdReportIndicators, `"contract_year":1,"reported_on":"2021-01-14","values":[{"mission":"access","code":"access-1","value":"1"}]`, "year_not_ended", "reported_on"},
		{"report_missing_value", func(t *testing.T) *lifecycle { l := signed(t); l.start("access", "2020-02-01"); return l },
			cpts.CmdReportIndicators, `"contract_year":1,"reported_on":"2021-02-01","values":[]`, "missing_value", "values"},
		{"report_negative_value", func(t *testing.T) *lifecycle { l := signed(t); l.start("access", "2020-02-01"); return l },
			cpts.CmdReportIndicators, `"contract_year":1,"reported_on":"2021-02-01","values":[{"mission":"access","code":"access-1","value":"-3"}]`, "negative_value", "values[0].value"},
		{"report_unknown_indicator", func(t *testing.T) *lifecycle { l := signed(t); l.start("access", "2020-02-01"); return l },
			cpts.CmdReportIndicators, `"contract_year":1,"reported_on":"2021-02-01","values":[{"mission":"access","code":"access-1","value":"3"},{"mission":"access","code":"nope","value":"3"}]`, "unknown_indicator", "values[1]"},
		{"report_twice", func(t *testing.T) *lifecycle {
			l := signed(t)
			l.start("access", "2020-02-01")
			l.report(1, "2021-02-01", map[string]string{"access": "1"})
			return l
		}, cpts.CmdReportIndicators, `"contract_year":1,"reported_on":"2021-03-01","values":[{"mission":"access","code":"access-1","value":"3"}]`, "duplicate_report", "contract_year"},
		{"decide_without_date", signed, cpts.CmdDecideDuePayments, `"as_of":""`, "missing_field", "as_of"},
		{"terminate_before_signature", signed, cpts.CmdTerminateContract, `"terminated_on":"2020-01-15","reason":"x"`, "date_before_signature", "terminated_on"},
		{"terminate_without_reason", signed, cpts.CmdTerminateContract, `"terminated_on":"2020-05-15","reason":""`, "missing_field", "reason"},
		{"terminate_twice", func(t *testing.T) *lifecycle { l := signed(t); l.terminate("2020-05-01"); return l },
			cpts.CmdTerminateContract, `"terminated_on":"2020-06-15","reason":"x"`, "already_terminated", ""},
		{"terminate_before_a_start", func(t *testing.T) *lifecycle { l := signed(t); l.start("access", "2020-06-01"); return l },
			cpts.CmdTerminateContract, `"terminated_on":"2020-05-15","reason":"x"`, "facts_after_termination", "terminated_on"},
		{"deploy_after_termination", func(t *testing.T) *lifecycle {
			l := signed(t)
			l.start("access", "2020-02-01")
			l.terminate("2020-05-01")
			return l
		}, cpts.CmdDeployMission, `"mission":"access","deployed_on":"2020-06-01"`, "contract_terminated", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.given(t)
			before := len(l.c.Payments)
			l.reject(tc.typ, tc.fields, tc.code, tc.field)
			if len(l.c.Payments) != before {
				t.Fatal("state changed")
			}
		})
	}
}

func TestDecodeRejectsMalformedLines(t *testing.T) {
	for _, tc := range []struct{ line, code, field string }{
		{`{"type":"SignContract",`, "malformed_json", ""},
		{`{"type":"Teleport","command_id":"x","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"}`, "unknown_command", "type"},
		{`{"command_id":"x"}`, "missing_field", "type"},
		{`{"type":"DecideDuePayments","command_id":"x","contract_id":"not-a-uuid","as_of":"2020-01-01"}`, "invalid_uuid", "contract_id"},
		{`{"type":"DecideDuePayments","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80","as_of":"2020-01-01"}`, "missing_field", "command_id"},
		{`{"type":"DecideDuePayments","command_id":"x","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80","as_of":"2020-02-30"}`, "invalid_date", "as_of"},
		{`{"type":"StartMission","command_id":"x","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80","mission":7,"started_on":"2020-02-01"}`, "invalid_type", "mission"},
	} {
		_, err := cpts.DecodeCommand([]byte(tc.line))
		if err == nil {
			t.Errorf("%s: accepted", tc.line)
			continue
		}
		re, ok := err.(interface{ Has(string) bool })
		if !ok || !re.Has(tc.code) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v, want %s on %q", tc.line, err, tc.code, tc.field)
		}
	}
}
