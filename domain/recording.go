package domain

import "fmt"

// The recording day. A command states when a fact happened (a report
// received, a mission started, a contract ended: business dates) and,
// for an act that can take money back or change published amounts, the
// day of the act itself (an amendment's published_on, a recognition's
// recognised_on, a correction's corrected_on). Retroactivity and
// prescription are judged on that act date, so a client that could date
// the act freely could step round both: an amendment back-dated to before
// the decisions it lowers, a correction dated three years early. The
// ledger's own clock decides instead: an act is dated on the UTC day the
// ledger records it, or later within the recording margin; an act date
// before the recording day is refused (backdated). A termination's date is
// a fact (the contract ended then), so it may lie in the past, but the
// prescription of the money it takes back is judged on the later of it and
// the recording day.

// ActDated is a command that carries the date of its own act.
type ActDated interface {
	Command
	// ActDate names the field holding the act's date, and the date.
	ActDate() (field string, on Date)
}

// ActDate implements ActDated for every correction.
func (m *CorrectionMeta) ActDate() (string, Date) { return "corrected_on", m.CorrectedOn }

// CheckRecordingDay refuses a command whose act is dated before the day
// the ledger records it (recordedOn). A zero recordedOn — a history
// replayed as it was recorded (ledger demo) — checks nothing.
func CheckRecordingDay(cmd Command, recordedOn Date) error {
	a, ok := cmd.(ActDated)
	if !ok || recordedOn.IsZero() {
		return nil
	}
	field, on := a.ActDate()
	if on.IsZero() || !on.Before(recordedOn) {
		return nil
	}
	return Reject(CodeBackdated, field, fmt.Sprintf("%s is before %s, the day the ledger records this %s: an act is dated on the day it is recorded (or later, within recording_margin_days); retroactivity and prescription are judged on that day (domain.md, the recording day)",
		on, recordedOn, cmd.CommandType()))
}

// JudgedOn is the day the prescription of an act dated on is judged: the
// later of it and the day the ledger records it (zero: a replayed history,
// judged on its own dates).
func JudgedOn(on, recordedOn Date) Date { return MaxDate(on, recordedOn) }
