package cpts_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
)

const letterID = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e70"

func letterLine(commandID, cptsID string, population int, validatedOn string) string {
	return fmt.Sprintf(`{"type":"ValidateLetterOfIntent","command_id":%q,"letter_id":%q,"cpts":{"id":%q,"name":"CPTS Test"},"ars":"ARS Centre-Val de Loire","cpam":"CPAM Test","population":%d,"validated_on":%q}`,
		commandID, letterID, cptsID, population, validatedOn)
}

// validate decides a letter's validation on its stream's state, with the
// reference r (nil: none), and applies the events.
func validate(t *testing.T, l *cpts.Contract, line string, r *reference) ([]cpts.Event, error) {
	t.Helper()
	cmd, err := cpts.DecodeCommand([]byte(line))
	if err != nil {
		return nil, err
	}
	if r != nil {
		cmd = cpts.Default().(domain.ReferenceFacts).WithReference(cmd, r.ref.Copy())
	}
	events, err := cpts.Decide(l, cmd)
	for _, e := range events {
		if err := l.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	return events, err
}

func wantCode(t *testing.T, err error, code, field string) {
	t.Helper()
	var re *domain.RejectedError
	if !errors.As(err, &re) {
		t.Fatalf("%v, want a rejection %s", err, code)
	}
	for _, v := range re.Violations {
		if v.Code == code && v.Field == field {
			return
		}
	}
	t.Fatalf("%v, want %s on %s", err, code, field)
}

// The aid of a letter validated by the ARS, by tier (avenant 2, final
// text): T1 15 000, T2 17 500, T3 25 000, T4 30 000 — due and decided on
// the validation day, contract year 0, one line citing the rulebook's
// amount.
func TestLetterOfIntentAidByTier(t *testing.T) {
	for _, tc := range []struct {
		population int
		tier, aid  string
	}{{1, "T1", "15000.00"}, {39_999, "T1", "15000.00"}, {40_000, "T2", "17500.00"}, {80_000, "T3", "25000.00"}, {175_001, "T4", "30000.00"}} {
		l := cpts.NewContract(uuid.MustParse(letterID))
		events, err := validate(t, l, letterLine("v1", "cpts-9", tc.population, "2022-06-01"), nil)
		if err != nil {
			t.Fatalf("population %d: %v", tc.population, err)
		}
		v, ok := events[0].(cpts.LetterOfIntentValidated)
		p, paid := events[1].(cpts.PaymentDecided)
		if len(events) != 2 || !ok || !paid || v.Tier != tc.tier || v.Rulebook != "aci-2022" {
			t.Fatalf("population %d: %+v", tc.population, events)
		}
		if p.Kind != cpts.KindLetterOfIntent || p.Amount.String() != tc.aid || p.ContractYear != 0 || p.DueOn.String() != "2022-06-01" ||
			p.DecidedOn.String() != "2022-06-01" || p.ContractID != uuid.MustParse(letterID) || len(p.Lines) != 1 || p.Lines[0].Amendment != nil {
			t.Fatalf("population %d: aid %+v, want %s", tc.population, p, tc.aid)
		}
		if l.Signed || l.Letter == nil {
			t.Fatal("a letter's state is not a contract's")
		}
	}
}

// One letter, one aid; no aid before avenant 2; a letter is not a contract.
func TestLetterOfIntentRefusals(t *testing.T) {
	l := cpts.NewContract(uuid.MustParse(letterID))
	_, err := validate(t, l, letterLine("v0", "cpts-9", 30_000, "2022-03-31"), nil)
	wantCode(t, err, cpts.CodeNoLetterOfIntentAid, "validated_on")
	_, err = validate(t, l, letterLine("v0", "cpts-9", 0, "2022-06-01"), nil)
	wantCode(t, err, cpts.CodePopulationNotPositive, "population")
	if _, err := validate(t, l, letterLine("v1", "cpts-9", 30_000, "2022-06-01"), nil); err != nil {
		t.Fatal(err)
	}
	_, err = validate(t, l, letterLine("v2", "cpts-9", 30_000, "2022-07-01"), nil)
	wantCode(t, err, cpts.CodeLetterValidated, "letter_id")
	cmd, _ := cpts.DecodeCommand([]byte(fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"d","contract_id":%q,"as_of":"2022-07-01"}`, letterID)))
	_, err = cpts.Decide(l, cmd)
	wantCode(t, err, domain.CodeContractNotFound, "contract_id")
	if !strings.Contains(err.Error(), "is a letter of intent") {
		t.Fatalf("a decision on a letter: %v", err)
	}
	if _, err := cpts.DecodeCommand([]byte(`{"type":"ValidateLetterOfIntent","command_id":"x","cpts":{"id":"","name":"n"},"ars":"ARS Centre-Val de Loire","cpam":"c","population":"many","validated_on":"2022-13-01"}`)); err == nil {
		t.Fatal("a malformed letter decoded")
	} else {
		for _, field := range []string{"letter_id", "cpts.id", "population", "validated_on"} {
			if !strings.Contains(err.Error(), field) {
				t.Errorf("the rejection does not name %s: %v", field, err)
			}
		}
	}
}

// An amendment of the aid (T1: 16 000 from 2024-01-01) rules the letters
// validated from then, its line citing it; one validated before keeps the
// rulebook's 15 000.
func TestLetterOfIntentAidAmended(t *testing.T) {
	r := &reference{t: t}
	r.must(agreementAmendment("loi-2024", "aci-2022", "2024-01-01", "2023-12-01", `{"tier":"T1","component":"letter_of_intent","amount":"16000"}`))
	before := cpts.NewContract(uuid.MustParse(letterID))
	events, err := validate(t, before, letterLine("v1", "cpts-9", 30_000, "2023-12-31"), r)
	if err != nil || events[1].(cpts.PaymentDecided).Amount.String() != "15000.00" {
		t.Fatalf("before the amendment: %v %v", events, err)
	}
	after := cpts.NewContract(uuid.MustParse(letterID))
	events, err = validate(t, after, letterLine("v1", "cpts-9", 30_000, "2024-01-01"), r)
	if err != nil {
		t.Fatal(err)
	}
	p := events[1].(cpts.PaymentDecided)
	if p.Amount.String() != "16000.00" || p.Lines[0].Amendment == nil || p.Lines[0].Amendment.ID != "loi-2024" {
		t.Fatalf("after the amendment: %+v", p)
	}
}

// A contract names the letter it follows: the letter must be validated,
// the CPTS's own, on or before the signature.
func TestSignatureFollowsItsLetter(t *testing.T) {
	scheme := cpts.Default()
	f := scheme.(domain.Follower)
	letter := cpts.NewContract(uuid.MustParse(letterID))
	sign := func(cptsID, signedOn string) domain.Command {
		line := fmt.Sprintf(`{"type":"SignContract","command_id":"s","contract_id":%q,%s,"letter_id":%q}`, contractID,
			strings.Replace(signFields(30_000, signedOn, false, "access", "pathways", "prevention", "crisis"), `"id":"cpts-1"`, `"id":"`+cptsID+`"`, 1), letterID)
		cmd, err := cpts.DecodeCommand([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	followed, claim, ok := f.Follows(sign("cpts-9", "2022-09-01"))
	if !ok || followed != uuid.MustParse(letterID) || claim != "letter/"+letterID {
		t.Fatalf("follows %v %q %v", followed, claim, ok)
	}
	wantCode(t, f.CheckFollows(sign("cpts-9", "2022-09-01"), letter), cpts.CodeUnknownLetter, "letter_id")
	if _, err := validate(t, letter, letterLine("v1", "cpts-9", 30_000, "2022-06-01"), nil); err != nil {
		t.Fatal(err)
	}
	if err := f.CheckFollows(sign("cpts-9", "2022-09-01"), letter); err != nil {
		t.Fatalf("the CPTS's own letter: %v", err)
	}
	wantCode(t, f.CheckFollows(sign("cpts-8", "2022-09-01"), letter), cpts.CodeLetterOtherCPTS, "letter_id")
	wantCode(t, f.CheckFollows(sign("cpts-9", "2022-05-01"), letter), cpts.CodeSignedBeforeLetter, "signed_on")
	// The signature records the letter it follows.
	c := cpts.NewContract(uuid.MustParse(contractID))
	events, err := cpts.Decide(c, sign("cpts-9", "2022-09-01"))
	if err != nil {
		t.Fatal(err)
	}
	if s := events[0].(cpts.ContractSigned); s.LetterID == nil || *s.LetterID != uuid.MustParse(letterID) {
		t.Fatalf("signature %+v", s)
	}
	plain := sign("cpts-9", "2022-09-01").(cpts.SignContract)
	plain.LetterID = nil
	if _, _, ok := f.Follows(plain); ok {
		t.Fatal("a signature without a letter follows one")
	}
}
