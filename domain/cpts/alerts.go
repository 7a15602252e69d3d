package cpts

import (
	"cmp"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
)

// Deadline kinds.
const (
	DeadlineStart  = "start"
	DeadlineDeploy = "deploy"
)

// Alert statuses (domain.md 2.9).
const (
	AlertPending = "pending"
	AlertDueSoon = "due_soon"
	AlertOverdue = "overdue"
	AlertMet     = "met"
	AlertMetLate = "met_late"
)

// DueSoonDays is the default window of due_soon: a deadline not met that
// falls within the next 60 days (two months: the time a CPTS has to act
// on a reminder). Queries, the console and the API take another window
// when asked (--within, ?within=).
const DueSoonDays = 60

// AlertUrgency ranks the statuses as they are to be worked: overdue first,
// met last.
func AlertUrgency(status string) int {
	switch status {
	case AlertOverdue:
		return 0
	case AlertDueSoon:
		return 1
	case AlertPending:
		return 2
	case AlertMetLate:
		return 3
	}
	return 4
}

// AlertOpen tells whether a deadline is still to be worked: not met.
func AlertOpen(status string) bool {
	return status == AlertOverdue || status == AlertDueSoon || status == AlertPending
}

// Deadline is a start or deployment deadline of one mission, with the date
// the fact happened (zero while it has not).
type Deadline struct {
	Mission  string
	Kind     string
	Months   int
	Deadline domain.Date
	Done     domain.Date
}

// Deadlines lists the contract's deadlines in rulebook order of missions,
// the start before the deployment.
func (c *Contract) Deadlines() []Deadline {
	var out []Deadline
	for _, m := range c.Missions() {
		rb := c.bookOf(m)
		if rb == nil {
			continue
		}
		rule, _ := rb.Mission(m)
		// A mission created by an amendment counts from the later of the
		// signature and the amendment's entry into force (domain.md §2.10).
		for _, dl := range deadlinesOf(rule, domain.MaxDate(c.Terms.SignedOn, rule.DeadlinesFrom)) {
			dl.Done = c.Starts[m]
			if dl.Kind == DeadlineDeploy {
				dl.Done = c.Deploys[m]
			}
			out = append(out, dl)
		}
	}
	return out
}

// deadlinesOf returns a mission's start and deployment deadlines counted
// from a date (those its rule has).
func deadlinesOf(rule MissionRule, from domain.Date) []Deadline {
	var out []Deadline
	if rule.StartMonths != nil {
		out = append(out, Deadline{Mission: rule.Code, Kind: DeadlineStart, Months: *rule.StartMonths, Deadline: from.AddMonths(*rule.StartMonths)})
	}
	if rule.DeployMonths != nil {
		out = append(out, Deadline{Mission: rule.Code, Kind: DeadlineDeploy, Months: *rule.DeployMonths, Deadline: from.AddMonths(*rule.DeployMonths)})
	}
	return out
}

// TakenUpDeadlines returns the deadlines a contract signed under an
// earlier rulebook gets when it takes mission m up (by starting it), under
// the embedded rulebooks: counted from the date the rulebook that created
// m sets (its signature is before it); none for another mission.
func TakenUpDeadlines(m string) []Deadline {
	rb, ok := defaultRules.Joining(m)
	if !ok {
		return nil
	}
	rule, _ := rb.Mission(m)
	return deadlinesOf(rule, rule.DeadlinesFrom)
}

// Alert is the state of one deadline as of a date.
type Alert struct {
	ContractID uuid.UUID   `json:"contract_id"`
	Mission    string      `json:"mission"`
	Kind       string      `json:"kind"`
	Months     int         `json:"months"`
	Deadline   domain.Date `json:"deadline"`
	Status     string      `json:"status"`
}

// DeadlineStatus classifies a deadline as of asOf with a window of days:
// met (done by the deadline, and by asOf), met_late (done after the
// deadline, by asOf), overdue (not done by asOf, deadline before asOf),
// due_soon (not done, deadline within [asOf, asOf + window]), else pending.
func DeadlineStatus(deadline, done, asOf domain.Date, window int) string {
	if !done.IsZero() && !done.After(asOf) {
		if done.After(deadline) {
			return AlertMetLate
		}
		return AlertMet
	}
	switch {
	case deadline.Before(asOf):
		return AlertOverdue
	case !deadline.After(asOf.AddDays(window)):
		return AlertDueSoon
	}
	return AlertPending
}

// NextAlert is the contract's next deadline still to be worked as of asOf
// (AlertOpen): the earliest not met, by date, then mission and kind; false
// when none is open (every deadline met, or the contract not live then).
func (c *Contract) NextAlert(asOf domain.Date, window int) (Alert, bool) {
	var next Alert
	found := false
	for _, a := range c.Alerts(asOf, window) {
		if !AlertOpen(a.Status) {
			continue
		}
		if !found || cmp.Or(a.Deadline.Compare(next.Deadline), cmp.Compare(a.Mission, next.Mission), cmp.Compare(a.Kind, next.Kind)) < 0 {
			next, found = a, true
		}
	}
	return next, found
}

// Alerts returns the contract's deadline alerts as of asOf. A contract
// signed after asOf, or terminated on or before it, has none.
func (c *Contract) Alerts(asOf domain.Date, window int) []Alert {
	if !c.Signed || c.Terms.SignedOn.After(asOf) || (c.Terminated() && !c.TerminatedOn.After(asOf)) {
		return nil
	}
	var out []Alert
	for _, d := range c.Deadlines() {
		out = append(out, Alert{ContractID: c.ID, Mission: d.Mission, Kind: d.Kind, Months: d.Months,
			Deadline: d.Deadline, Status: DeadlineStatus(d.Deadline, d.Done, asOf, window)})
	}
	return out
}
