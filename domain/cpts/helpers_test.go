package cpts_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/google/uuid"
)

const contractID = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"

// lifecycle drives one contract through commands, as the ledger does:
// decode, decide, apply.
type lifecycle struct {
	t *testing.T
	c *cpts.Contract
	n int
}

func newLifecycle(t *testing.T) *lifecycle {
	return &lifecycle{t: t, c: cpts.NewContractWith(uuid.MustParse(contractID), cpts.ExamplesRules())}
}

// cmd builds a command line of type typ with the given fields (a JSON
// object body without braces).
func (l *lifecycle) cmd(typ, fields string) string {
	l.n++
	if fields != "" {
		fields = "," + fields
	}
	return fmt.Sprintf(`{"type":%q,"command_id":"c%d","contract_id":%q%s}`, typ, l.n, contractID, fields)
}

func (l *lifecycle) decide(line string) ([]cpts.Event, error) {
	cmd, err := cpts.DecodeCommand([]byte(line))
	if err != nil {
		return nil, err
	}
	return cpts.Decide(l.c, cmd)
}

// do applies a command that must succeed and returns its events.
func (l *lifecycle) do(typ, fields string) []cpts.Event {
	l.t.Helper()
	line := l.cmd(typ, fields)
	events, err := l.decide(line)
	if err != nil {
		l.t.Fatalf("%s rejected: %v", line, err)
	}
	for _, e := range events {
		if err := l.c.Apply(e); err != nil {
			l.t.Fatal(err)
		}
	}
	return events
}

// reject checks that a command is rejected with the code, on the field,
// and produces no event.
func (l *lifecycle) reject(typ, fields, code, field string) {
	l.t.Helper()
	line := l.cmd(typ, fields)
	events, err := l.decide(line)
	var re *domain.RejectedError
	if !errors.As(err, &re) {
		l.t.Fatalf("%s: got %v (events %v), want rejection %s", line, err, events, code)
	}
	if len(events) != 0 {
		l.t.Fatalf("%s: a rejected command produced %d events", line, len(events))
	}
	for _, v := range re.Violations {
		if v.Code == code && v.Field == field {
			if !strings.Contains(err.Error(), v.Rule) {
				l.t.Fatalf("message %q does not state the rule", err)
			}
			return
		}
	}
	l.t.Fatalf("%s: violations %+v, want code %s on field %q", line, re.Violations, code, field)
}

func (l *lifecycle) sign(population int, signedOn string, regulation bool, missions ...string) {
	l.t.Helper()
	l.do(cpts.CmdSignContract, signFields(population, signedOn, regulation, missions...))
}

func signFields(population int, signedOn string, regulation bool, missions ...string) string {
	if len(missions) == 0 {
		missions = []string{"access", "pathways", "prevention"}
	}
	var inds []string
	for _, m := range missions {
		inds = append(inds, fmt.Sprintf(`{"mission":%q,"code":"%s-1","weight":"1","target":"100"}`, m, m))
	}
	ms, _ := json.Marshal(missions)
	return fmt.Sprintf(`"cpts":{"id":"cpts-1","name":"CPTS Test"},"ars":"ARS Centre-Val de Loire","cpam":"CPAM Test","population":%d,`+
		`"signed_on":%q,"missions":%s,"snp_regulation":%t,"indicators":[%s]`, population, signedOn, ms, regulation, strings.Join(inds, ","))
}

func (l *lifecycle) start(m, on string) {
	l.t.Helper()
	l.do(cpts.CmdStartMission, fmt.Sprintf(`"mission":%q,"started_on":%q`, m, on))
}

func (l *lifecycle) deploy(m, on string) {
	l.t.Helper()
	l.do(cpts.CmdDeployMission, fmt.Sprintf(`"mission":%q,"deployed_on":%q`, m, on))
}

// report reports year k with a value per mission (indicator "<m>-1",
// target 100).
func (l *lifecycle) report(k int, on string, values map[string]string) {
	l.t.Helper()
	var vs []string
	for m, v := range values {
		vs = append(vs, fmt.Sprintf(`{"mission":%q,"code":"%s-1","value":%q}`, m, m, v))
	}
	l.do(cpts.CmdReportIndicators, fmt.Sprintf(`"contract_year":%d,"reported_on":%q,"values":[%s]`, k, on, strings.Join(vs, ",")))
}

func (l *lifecycle) decideDue(asOf string) []cpts.PaymentDecided {
	l.t.Helper()
	var out []cpts.PaymentDecided
	for _, e := range l.do(cpts.CmdDecideDuePayments, fmt.Sprintf(`"as_of":%q`, asOf)) {
		out = append(out, e.(cpts.PaymentDecided))
	}
	return out
}

func (l *lifecycle) terminate(on string) {
	l.t.Helper()
	l.do(cpts.CmdTerminateContract, fmt.Sprintf(`"terminated_on":%q,"reason":"calendar not met"`, on))
}

// payment returns a decided payment or fails.
func (l *lifecycle) payment(kind string, year int, mission string) cpts.PaymentDecided {
	l.t.Helper()
	p, ok := l.c.Payment(kind, year, mission)
	if !ok {
		l.t.Fatalf("no %s decided for year %d %s; decided: %v", kind, year, mission, summary(l.c.Payments))
	}
	return p
}

func summary(ps []cpts.PaymentDecided) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "\n  %s y%d %s due %s %s %s", p.Kind, p.ContractYear, p.Mission, p.DueOn, p.Status, p.Amount)
	}
	return b.String()
}

// wantLines checks a payment's lines as "mission/component=amount".
func wantLines(t *testing.T, p cpts.PaymentDecided, want ...string) {
	t.Helper()
	var got []string
	for _, l := range p.Lines {
		got = append(got, fmt.Sprintf("%s/%s=%s", l.Mission, l.Component, l.Amount))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s y%d lines:\n got  %s\n want %s", p.Kind, p.ContractYear, strings.Join(got, " "), strings.Join(want, " "))
	}
	var sum domain.Money
	for _, l := range p.Lines {
		sum = sum.Add(l.Amount)
	}
	if !sum.Equal(p.Amount) {
		t.Fatalf("%s y%d: amount %s is not the sum of its lines %s", p.Kind, p.ContractYear, p.Amount, sum)
	}
}

func wantAmount(t *testing.T, p cpts.PaymentDecided, status, amount string) {
	t.Helper()
	if p.Status != status || p.Amount.String() != amount {
		t.Fatalf("%s y%d %s: %s %s, want %s %s", p.Kind, p.ContractYear, p.Mission, p.Status, p.Amount, status, amount)
	}
}

func mustUUID(s string) uuid.UUID { return uuid.MustParse(s) }
