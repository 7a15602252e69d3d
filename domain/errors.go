package domain

import (
	"errors"
	"strings"
)

// Violation is one broken rule: a stable machine-readable code, the field
// at fault (a JSON path such as "indicators[2].weight", or "" for the
// command as a whole) and the rule in words.
type Violation struct {
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
	Rule  string `json:"rule"`
}

func (v Violation) String() string {
	if v.Field == "" {
		return v.Rule
	}
	return v.Field + ": " + v.Rule
}

// ErrRejected is matched (errors.Is) by every *RejectedError.
var ErrRejected = errors.New("domain: command rejected")

// RejectedError is a command that breaks one or more rules. Nothing was
// decided: a rejected command produces no event. It lists every violation
// found, so that a user can fix them all at once.
type RejectedError struct {
	Violations []Violation
}

func (e *RejectedError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return strings.Join(parts, "; ")
}

// Code returns the code of the first violation: the one a caller shows when
// it has room for one.
func (e *RejectedError) Code() string {
	if len(e.Violations) == 0 {
		return "rejected"
	}
	return e.Violations[0].Code
}

// Is lets errors.Is(err, ErrRejected) match.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// Has reports whether a violation with that code is listed.
func (e *RejectedError) Has(code string) bool {
	for _, v := range e.Violations {
		if v.Code == code {
			return true
		}
	}
	return false
}

// Violations collects violations while a command is checked.
type Violations []Violation

// Add records a violation.
func (vs *Violations) Add(code, field, rule string) { *vs = append(*vs, Violation{code, field, rule}) }

// Err returns a *RejectedError, or nil when nothing was recorded.
func (vs Violations) Err() error {
	if len(vs) == 0 {
		return nil
	}
	return &RejectedError{Violations: vs}
}

// Reject returns a *RejectedError with one violation.
func Reject(code, field, rule string) error {
	return &RejectedError{Violations: []Violation{{code, field, rule}}}
}
