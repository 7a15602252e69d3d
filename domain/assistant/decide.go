package assistant

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cptsledger/ledger/domain"
)

// Decide checks a command against the contract's state and returns the
// events it produces, or a *domain.RejectedError listing every rule it
// breaks. It does not change c.
func Decide(c *Contract, cmd domain.Command) ([]domain.Event, error) {
	if !c.ErasedOn.IsZero() {
		return nil, domain.Reject(CodePersonalDataErased, "contract_id", fmt.Sprintf("the doctor's personal data were erased on %s: the contract takes no command after it", c.ErasedOn))
	}
	if events, ok, err := domain.DecideTreasury(c.Payee(), cmd); ok {
		return events, err
	}
	_, signs := cmd.(SignAidContract)
	if err := domain.CheckTarget(c.ID, c.Signed, cmd, signs); err != nil {
		return nil, err
	}
	switch cmd := cmd.(type) {
	case SignAidContract:
		return decideSign(c, cmd)
	case HireAssistant:
		return decideHire(c, cmd)
	case ReportPatientele:
		return decideReport(c, cmd)
	case ExtendAssistant:
		return decideExtend(c, cmd)
	case RecordCoordinatedPractice:
		return decideJoin(c, cmd)
	case ErasePersonalData:
		return decideErase(c, cmd)
	case DecideDuePayments:
		return c.decideDue(cmd.AsOf, true)
	case TerminateContract:
		var vs domain.Violations
		domain.CheckTermination(&vs, cmd.TerminatedOn, c.Years, c.TerminatedOn)
		if err := vs.Err(); err != nil {
			return nil, err
		}
		events := []domain.Event{ContractTerminated{ContractID: c.ID, TerminatedOn: cmd.TerminatedOn, Reason: cmd.Reason}}
		if err := c.checkPrescription(events, domain.JudgedOn(cmd.TerminatedOn, cmd.RecordedOn)); err != nil {
			return nil, err
		}
		return events, nil
	}
	if events, ok, err := decideCorrection(c, cmd); ok {
		return events, err
	}
	return nil, domain.Reject(domain.CodeUnknownCommand, "type", fmt.Sprintf("%s is not a command of the assistant scheme", cmd.CommandType()))
}

var rppsPattern = regexp.MustCompile(`^[0-9]{11}$`)

var bands = []string{BandBelowP90, BandP90P95, BandP95Plus}

func decideSign(c *Contract, cmd SignAidContract) ([]domain.Event, error) {
	if c.Signed {
		return nil, domain.Reject(domain.CodeContractExists, "contract_id", fmt.Sprintf("contract %s was signed on %s; a contract is signed once", c.ID, c.Terms.SignedOn))
	}
	var vs domain.Violations
	d := cmd.Doctor
	if !rppsPattern.MatchString(d.RPPS) {
		vs.Add(CodeInvalidRPPS, "doctor.rpps", fmt.Sprintf("an RPPS number has 11 digits, got %q", d.RPPS))
	}
	if d.Sector != 1 && d.Sector != 2 {
		vs.Add(CodeInvalidSector, "doctor.sector", fmt.Sprintf("must be 1 or 2, got %d", d.Sector))
	}
	if !slices.Contains(bands, cmd.Band) {
		vs.Add(CodeUnknownBand, "band", fmt.Sprintf("must be one of %s, got %q", strings.Join(bands, ", "), cmd.Band))
	}
	if cmd.PatienteleBaseline <= 0 {
		vs.Add(CodeBaselineNotPositive, "patientele_baseline", fmt.Sprintf("must be a positive number of patients, got %d", cmd.PatienteleBaseline))
	}
	if cmd.PatienteleTarget < cmd.PatienteleBaseline {
		vs.Add(CodeTargetBelowBaseline, "patientele_target", fmt.Sprintf("must be at least the baseline %d (equal means \"maintain\"), got %d", cmd.PatienteleBaseline, cmd.PatienteleTarget))
	}
	rb, ok := c.rules.InForce(cmd.SignedOn)
	if !ok {
		vs.Add(domain.CodeNoRulebook, "signed_on", fmt.Sprintf("no medical-assistant rulebook is in force on %s (avenant 7 applies from 2019-08-20)", cmd.SignedOn))
		return nil, vs.Err()
	}
	// Eligibility, by the rulebook in force on the signature date: each
	// refusal says which condition failed.
	el := rb.Eligibility
	if opt, ok := rb.Option(cmd.Option); !ok {
		open := make([]string, len(rb.Options))
		for i, o := range rb.Options {
			open[i] = o.Code
		}
		vs.Add(CodeOptionNotOpen, "option", fmt.Sprintf("option %q is not open under %s (open: %s)", cmd.Option, rb.ID, strings.Join(open, ", ")))
	} else if opt.RequiresUnderservedZone && !d.UnderservedZone {
		vs.Add(CodeOptionNotOpen, "option", fmt.Sprintf("option %q is open under %s only in an under-served zone", cmd.Option, rb.ID))
	}
	if d.Sector == 1 && !el.Sector1 || d.Sector == 2 && !(el.Sector2WithOPTAM && d.OPTAM) {
		vs.Add(CodeSectorNotEligible, "doctor.optam", fmt.Sprintf("%s requires sector 1, or sector 2 with OPTAM", rb.ID))
	}
	if el.GroupPracticeUnlessUnderserved && !d.GroupPractice && !d.UnderservedZone {
		vs.Add(CodePracticeNotEligible, "doctor.group_practice", fmt.Sprintf("%s requires a group practice outside under-served zones", rb.ID))
	}
	if el.CoordinatedPractice && !d.CoordinatedPractice {
		vs.Add(CodeCoordinationRequired, "doctor.coordinated_practice", fmt.Sprintf("%s requires a coordinated practice", rb.ID))
	}
	if d.Specialty == "general_practice" && cmd.PatienteleBaseline < int64(el.GeneralPracticeMinimumPatientele) {
		vs.Add(CodePatienteleBelowMinimum, "patientele_baseline", fmt.Sprintf("%s requires a general practitioner to have at least %d médecin-traitant patients, got %d", rb.ID, el.GeneralPracticeMinimumPatientele, cmd.PatienteleBaseline))
	}
	if slices.Contains(el.ExcludedSpecialties, d.Specialty) {
		vs.Add(CodeSpecialtyExcluded, "doctor.specialty", fmt.Sprintf("%s excludes the specialty %q", rb.ID, d.Specialty))
	}
	checkDeclared(&vs, rb, d)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{AidContractSigned{ContractID: c.ID, CPAM: cmd.CPAM, Doctor: d, Option: cmd.Option, SignedOn: cmd.SignedOn,
		Band: cmd.Band, PatienteleBaseline: int(cmd.PatienteleBaseline), PatienteleTarget: int(cmd.PatienteleTarget), Rulebook: rb.ID}}, nil
}

func decideHire(c *Contract, cmd HireAssistant) ([]domain.Event, error) {
	var vs domain.Violations
	switch {
	case c.Terminated():
		vs.Add(domain.CodeContractTerminated, "", fmt.Sprintf("the contract was terminated on %s", c.TerminatedOn))
	case c.Hired():
		vs.Add(CodeAlreadyHired, "hired_on", fmt.Sprintf("the assistant was hired on %s", c.HiredOn))
	case cmd.HiredOn.Before(c.Terms.SignedOn):
		vs.Add(domain.CodeDateBeforeSignature, "hired_on", fmt.Sprintf("%s is before the signature on %s", cmd.HiredOn, c.Terms.SignedOn))
	case !cmd.HiredOn.Before(c.Years.End(1)):
		vs.Add("hiring_after_year_1", "hired_on", fmt.Sprintf("the assistant is hired in the first contract year, which ends on %s", c.Years.End(1).AddDays(-1)))
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{AssistantHired{ContractID: c.ID, HiredOn: cmd.HiredOn}}, nil
}

func decideReport(c *Contract, cmd ReportPatientele) ([]domain.Event, error) {
	var vs domain.Violations
	k := cmd.ContractYear
	switch {
	case k < 1 || k > c.Years.Count:
		vs.Add(domain.CodeYearOutOfRange, "contract_year", fmt.Sprintf("must be 1 to %d, got %d", c.Years.Count, k))
		return nil, vs.Err()
	case k > c.LastYear():
		vs.Add(domain.CodeYearAfterTermination, "contract_year", fmt.Sprintf("year %d begins after the termination on %s", k, c.TerminatedOn))
		return nil, vs.Err()
	}
	if r, ok := c.Reports[k]; ok {
		vs.Add(domain.CodeDuplicateReport, "contract_year", fmt.Sprintf("year %d was reported on %s; one report per year", k, r.ReportedOn))
	}
	if end := c.Years.End(k); cmd.ReportedOn.Before(end) {
		vs.Add(domain.CodeYearNotEnded, "reported_on", fmt.Sprintf("%s is before the end of contract year %d (%s): a year is reported once it has ended", cmd.ReportedOn, k, end))
	}
	if cmd.Patientele < 0 {
		vs.Add(domain.CodeNegativeValue, "patientele", fmt.Sprintf("must be 0 or more, got %d", cmd.Patientele))
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{PatienteleReported{ContractID: c.ID, ContractYear: k, ReportedOn: cmd.ReportedOn, Patientele: int(cmd.Patientele)}}, nil
}

// checkDeclared applies the 2024 convention's conditions on what the
// doctor declares at signature: the patientèle's percentile, and, for the
// specialties it names, the share of CCAM fees.
func checkDeclared(vs *domain.Violations, rb *Rulebook, d Doctor) {
	el := rb.Eligibility
	if min := el.MinimumPatientelePercentile; min > 0 {
		switch p := d.PatientelePercentile; {
		case p == nil:
			vs.Add(domain.CodeMissingField, "doctor.patientele_percentile", fmt.Sprintf("%s requires the percentile of the doctor's patientèle, declared with the baseline (0 to 100)", rb.ID))
		case *p < min:
			vs.Add(CodeBelowP30, "doctor.patientele_percentile", fmt.Sprintf("%s requires a patientèle at the %dth percentile or above, got %d", rb.ID, min, *p))
		}
	}
	if l := el.CCAMFeeShareLimit; l != nil && slices.Contains(l.Specialties, d.Specialty) {
		switch s := d.CCAMFeeShare; {
		case s == nil:
			vs.Add(domain.CodeMissingField, "doctor.ccam_fee_share", fmt.Sprintf("%s requires the share of CCAM fees of a doctor in %s (0 to 1)", rb.ID, d.Specialty))
		case !s.LessThan(l.Below):
			vs.Add(CodeCCAMShareTooHigh, "doctor.ccam_fee_share", fmt.Sprintf("%s admits %s only with CCAM fees under %s of the fees, got %s", rb.ID, d.Specialty, l.Below, s))
		}
	}
}
