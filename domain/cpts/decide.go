package cpts

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cptsledger/ledger/domain"
	"github.com/shopspring/decimal"
)

// Decide checks a command against the contract's state and returns the
// events it produces, or a *domain.RejectedError listing every rule it
// breaks. It does not change c: the caller appends the events and applies
// them. Deciding is a pure function of state and command.
func Decide(c *Contract, cmd Command) ([]Event, error) {
	// A letter of intent's aid is paid like a contract's: the treasury's
	// commands reach it.
	if events, ok, err := domain.DecideTreasury(c.Payee(), cmd); ok {
		return events, err
	}
	_, signs := cmd.(SignContract)
	_, validates := cmd.(ValidateLetterOfIntent)
	if err := notALetter(c, cmd); err != nil {
		return nil, err
	}
	if err := domain.CheckTarget(c.ID, c.Signed, cmd, signs || validates); err != nil {
		return nil, err
	}
	switch cmd := cmd.(type) {
	case SignContract:
		return decideSign(c, cmd)
	case ValidateLetterOfIntent:
		return decideLetter(c, cmd)
	case StartMission:
		return decideStart(c, cmd)
	case DeployMission:
		return decideDeploy(c, cmd)
	case ReportIndicators:
		return decideReport(c, cmd)
	case DecideDuePayments:
		ref, _ := cmd.Reference.(*Reference)
		return c.decideDue(cmd.AsOf, true, ref)
	case TerminateContract:
		return decideTerminate(c, cmd)
	}
	if events, ok, err := decideCorrection(c, cmd); ok {
		return events, err
	}
	return nil, domain.Reject(domain.CodeUnknownCommand, "type", fmt.Sprintf("%T is not a CPTS command", cmd))
}

func decideSign(c *Contract, cmd SignContract) ([]Event, error) {
	if c.Signed {
		return nil, domain.Reject(domain.CodeContractExists, "contract_id", fmt.Sprintf("contract %s was signed on %s; a contract is signed once", c.ID, c.Terms.SignedOn))
	}
	var vs domain.Violations
	rb, ok := c.rules.InForce(cmd.SignedOn)
	if !ok {
		vs.Add(domain.CodeNoRulebook, "signed_on", fmt.Sprintf("no CPTS rulebook is in force on %s (the ACI applies from 2019-08-25)", cmd.SignedOn))
		return nil, vs.Err()
	}
	var tier Tier
	if cmd.Population <= 0 {
		vs.Add(CodePopulationNotPositive, "population", fmt.Sprintf("must be a positive whole number, got %d", cmd.Population))
	} else if t, ok := rb.TierFor(int(cmd.Population)); ok {
		tier = t
	}
	seen := map[string]bool{}
	for i, m := range cmd.Missions {
		field := fmt.Sprintf("missions[%d]", i)
		if _, ok := rb.Mission(m); !ok {
			vs.Add(CodeUnknownMission, field, fmt.Sprintf("%q is not a mission of %s (%s)", m, rb.ID, missionCodes(rb)))
			continue
		}
		if seen[m] {
			vs.Add(CodeDuplicateMission, field, fmt.Sprintf("%q is listed twice", m))
		}
		seen[m] = true
	}
	for _, m := range rb.Missions {
		if m.Kind == "core" && !seen[m.Code] {
			vs.Add(CodeCoreMissionMissing, "missions", fmt.Sprintf("must include the core mission %q", m.Code))
		}
	}
	checkIndicators(&vs, rb, seen, cmd.Indicators)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	missions := make([]string, 0, len(cmd.Missions))
	for _, m := range rb.Missions {
		if seen[m.Code] {
			missions = append(missions, m.Code)
		}
	}
	return []Event{ContractSigned{
		ContractID: c.ID, CPTS: cmd.CPTS, ARS: cmd.ARS, CPAM: cmd.CPAM, Population: int(cmd.Population),
		Tier: tier.Code, SignedOn: cmd.SignedOn, Missions: missions, SNPRegulation: cmd.SNPRegulation,
		Indicators: cmd.Indicators, Rulebook: rb.ID, LetterID: cmd.LetterID,
	}}, nil
}

// checkIndicators records the violations of a contract's indicators: each
// of a mission of the contract (seen), listed once, a weight in (0, 1], a
// target above 0, and the weights of each mission summing to exactly 1.
func checkIndicators(vs *domain.Violations, rb *Rulebook, seen map[string]bool, inds []Indicator) {
	weights := map[string]decimal.Decimal{}
	codes := map[string]bool{}
	for i, in := range inds {
		field := fmt.Sprintf("indicators[%d]", i)
		if in.Mission != "" && !seen[in.Mission] {
			vs.Add(CodeIndicatorUnknownMission, field+".mission", fmt.Sprintf("%q is not one of the contract's missions", in.Mission))
		}
		key := in.Mission + "/" + in.Code
		if codes[key] {
			vs.Add(CodeDuplicateIndicator, field+".code", fmt.Sprintf("indicator %q of mission %q is listed twice", in.Code, in.Mission))
		}
		codes[key] = true
		if !in.Weight.IsPositive() || in.Weight.GreaterThan(decimal.NewFromInt(1)) {
			vs.Add(CodeWeightOutOfRange, field+".weight", fmt.Sprintf("must be in (0, 1], got %s", in.Weight))
		}
		if !in.Target.IsPositive() {
			vs.Add(CodeTargetNotPositive, field+".target", fmt.Sprintf("must be greater than 0, got %s", in.Target))
		}
		weights[in.Mission] = weights[in.Mission].Add(in.Weight)
	}
	for _, m := range rb.Missions {
		if !seen[m.Code] {
			continue
		}
		w, ok := weights[m.Code]
		switch {
		case !ok && rb.HasVariable(m.Code):
			vs.Add(CodeMissionWithoutIndicator, "indicators", fmt.Sprintf("mission %q has no indicator", m.Code))
		case !ok:
			// A mission without a variable part needs no indicator.
		case !w.Equal(decimal.NewFromInt(1)):
			vs.Add(CodeWeightsNotOne, "indicators", fmt.Sprintf("the weights of mission %q sum to %s; they must sum to exactly 1", m.Code, w))
		}
	}
}

func missionCodes(rb *Rulebook) string {
	codes := make([]string, len(rb.Missions))
	for i, m := range rb.Missions {
		codes[i] = m.Code
	}
	return strings.Join(codes, ", ")
}

// checkFactDate applies the rules every start and deployment date obeys.
func (c *Contract) checkFactDate(vs *domain.Violations, field string, d domain.Date) {
	switch {
	case c.Terminated():
		vs.Add(domain.CodeContractTerminated, "", fmt.Sprintf("the contract was terminated on %s: no mission starts or is deployed after", c.TerminatedOn))
	case d.Before(c.Terms.SignedOn):
		vs.Add(domain.CodeDateBeforeSignature, field, fmt.Sprintf("%s is before the signature on %s", d, c.Terms.SignedOn))
	case !d.Before(c.Years.End(c.Years.Count)):
		vs.Add(domain.CodeDateAfterContract, field, fmt.Sprintf("%s is after the contract's end on %s", d, c.Years.End(c.Years.Count).AddDays(-1)))
	default:
		k := c.Years.Of(d)
		if c.YearClosed(k) {
			vs.Add(CodeYearClosed, field, fmt.Sprintf("%s falls in contract year %d, whose balance is decided: the year is closed", d, k))
		} else if r, ok := c.Reports[k]; ok {
			vs.Add(CodeYearClosed, field, fmt.Sprintf("%s falls in contract year %d, whose indicators were reported on %s: the year is closed", d, k, r.ReportedOn))
		}
	}
}

func decideStart(c *Contract, cmd StartMission) ([]Event, error) {
	var vs domain.Violations
	joining, joins := c.rules.Joining(cmd.Mission)
	joins = joins && c.joinable(cmd.Mission)
	if joins && cmd.StartedOn.Before(joining.InForce.From) {
		vs.Add(CodeMissionNotInForce, "started_on", fmt.Sprintf("%q is a mission of %s, in force from %s: the contract, signed under %s, takes it up on or after that day",
			cmd.Mission, joining.ID, joining.InForce.From, c.Rulebook.ID))
	}
	if !c.HasMission(cmd.Mission) && !joins {
		vs.Add(CodeUnknownMission, "mission", fmt.Sprintf("%q is not one of the contract's missions (%s)", cmd.Mission, strings.Join(c.Missions(), ", ")))
	} else if d, ok := c.Starts[cmd.Mission]; ok {
		vs.Add(CodeMissionAlreadyStarted, "mission", fmt.Sprintf("%q started on %s; a mission starts once", cmd.Mission, d))
	}
	c.checkFactDate(&vs, "started_on", cmd.StartedOn)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []Event{MissionStarted{ContractID: c.ID, Mission: cmd.Mission, StartedOn: cmd.StartedOn}}, nil
}

func decideDeploy(c *Contract, cmd DeployMission) ([]Event, error) {
	var vs domain.Violations
	if !c.HasMission(cmd.Mission) {
		vs.Add(CodeUnknownMission, "mission", fmt.Sprintf("%q is not one of the contract's missions (%s)", cmd.Mission, strings.Join(c.Missions(), ", ")))
	} else if started, ok := c.Starts[cmd.Mission]; !ok {
		vs.Add(CodeMissionNotStarted, "mission", fmt.Sprintf("%q has not started: a mission is deployed after it starts", cmd.Mission))
	} else if d, ok := c.Deploys[cmd.Mission]; ok {
		vs.Add(CodeMissionAlreadyDeployed, "mission", fmt.Sprintf("%q was deployed on %s; a mission is deployed once", cmd.Mission, d))
	} else if cmd.DeployedOn.Before(started) {
		vs.Add(CodeDateBeforeStart, "deployed_on", fmt.Sprintf("%s is before the mission's start on %s", cmd.DeployedOn, started))
	}
	c.checkFactDate(&vs, "deployed_on", cmd.DeployedOn)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []Event{MissionDeployed{ContractID: c.ID, Mission: cmd.Mission, DeployedOn: cmd.DeployedOn}}, nil
}

func decideReport(c *Contract, cmd ReportIndicators) ([]Event, error) {
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
	if end := c.PeriodEnd(k); cmd.ReportedOn.Before(end) {
		vs.Add(domain.CodeYearNotEnded, "reported_on", fmt.Sprintf("%s is before the end of contract year %d (%s): a year is reported once it has ended", cmd.ReportedOn, k, end))
	}
	c.checkValues(&vs, k, cmd.Values)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []Event{IndicatorsReported{ContractID: c.ID, ContractYear: k, ReportedOn: cmd.ReportedOn, Values: cmd.Values}}, nil
}

// checkValues records the violations of a report's values for year k:
// exactly one value, 0 or more, for each indicator of each mission active
// in the year.
func (c *Contract) checkValues(vs *domain.Violations, k int, values []IndicatorValue) {
	active := map[string]bool{}
	for _, m := range c.ActiveMissions(k) {
		active[m] = true
	}
	given := map[string]bool{}
	for i, v := range values {
		field := fmt.Sprintf("values[%d]", i)
		known := slices.ContainsFunc(c.Terms.Indicators, func(in Indicator) bool { return in.Mission == v.Mission && in.Code == v.Code })
		key := v.Mission + "/" + v.Code
		switch {
		case !known:
			vs.Add(CodeUnknownIndicator, field, fmt.Sprintf("mission %q has no indicator %q in this contract", v.Mission, v.Code))
		case !active[v.Mission]:
			vs.Add(CodeMissionNotActive, field+".mission", fmt.Sprintf("mission %q did not run in contract year %d", v.Mission, k))
		case given[key]:
			vs.Add(CodeDuplicateValue, field, fmt.Sprintf("indicator %q of mission %q is given twice", v.Code, v.Mission))
		}
		given[key] = true
		if v.Value.IsNegative() {
			vs.Add(domain.CodeNegativeValue, field+".value", fmt.Sprintf("must be 0 or more, got %s", v.Value))
		}
	}
	for _, m := range c.ActiveMissions(k) {
		for _, in := range c.IndicatorsOf(m) {
			if !given[m+"/"+in.Code] {
				vs.Add(CodeMissingValue, "values", fmt.Sprintf("indicator %q of mission %q, which ran in year %d, has no value", in.Code, m, k))
			}
		}
	}
}

func decideTerminate(c *Contract, cmd TerminateContract) ([]Event, error) {
	var vs domain.Violations
	d := cmd.TerminatedOn
	if domain.CheckTermination(&vs, d, c.Years, c.TerminatedOn) {
		c.checkFactsBefore(&vs, d)
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	events := []Event{ContractTerminated{ContractID: c.ID, TerminatedOn: d, Reason: cmd.Reason}}
	if err := c.checkPrescription(events, domain.JudgedOn(d, cmd.RecordedOn)); err != nil {
		return nil, err
	}
	return events, nil
}
