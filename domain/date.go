package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/go-json-experiment/json/jsontext"
	"time"
)

// Date is a civil date (no time, no zone), as the texts count them. The zero
// Date is "no date"; IsZero tells it apart.
type Date struct {
	// days since 1970-01-01, plus one so that the zero value means unset.
	n int32
}

const secondsPerDay = 24 * 60 * 60

// NewDate returns the date y-m-d; out-of-range days and months normalise as
// time.Date does.
func NewDate(y int, m time.Month, d int) Date {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return Date{n: int32(t.Unix()/secondsPerDay) + 1}
}

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return NewDate(y, m, d)
}

// ParseDate reads a YYYY-MM-DD date, strictly.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		return Date{}, fmt.Errorf("%q is not a date YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// MustDate is ParseDate for literals known to be valid.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d.n == 0 }

func (d Date) time() time.Time { return time.Unix(int64(d.n-1)*secondsPerDay, 0).UTC() }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time { return d.time() }

// YMD returns the year, month and day.
func (d Date) YMD() (int, time.Month, int) { return d.time().Date() }

// Year returns the calendar year.
func (d Date) Year() int { return d.time().Year() }

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.time().Format(time.DateOnly)
}

// AddDays returns d + n days.
func (d Date) AddDays(n int) Date { return Date{n: d.n + int32(n)} }

// AddMonths returns the same day of the month n months later, clamped to the
// last day of that month (31 Aug + 6 months = 28 or 29 Feb).
func (d Date) AddMonths(n int) Date {
	y, m, day := d.YMD()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return NewDate(first.Year(), first.Month(), min(day, last))
}

// AddYears returns d + n years with the same clamping (29 Feb + 1 year =
// 28 Feb).
func (d Date) AddYears(n int) Date { return d.AddMonths(12 * n) }

// DaysUntil returns the number of days from d to e (e − d), negative when e
// is before d.
func (d Date) DaysUntil(e Date) int { return int(e.n - d.n) }

// Before, After and Equal compare dates.
func (d Date) Before(e Date) bool { return d.n < e.n }
func (d Date) After(e Date) bool  { return d.n > e.n }
func (d Date) Equal(e Date) bool  { return d.n == e.n }

// Compare returns -1, 0 or +1.
func (d Date) Compare(e Date) int {
	switch {
	case d.n < e.n:
		return -1
	case d.n > e.n:
		return 1
	}
	return 0
}

// MinDate returns the earlier of two dates.
func MinDate(a, b Date) Date {
	if b.Before(a) {
		return b
	}
	return a
}

// MaxDate returns the later of two dates.
func MaxDate(a, b Date) Date {
	if b.After(a) {
		return b
	}
	return a
}

// MarshalJSON writes "YYYY-MM-DD", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a date must be a string YYYY-MM-DD")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalJSONFrom is UnmarshalJSON for encoding/json/v2's decoder (the
// events' decoder, DecodeAs), reading the token in place: every fold of
// the log reads dates by the million.
func (d *Date) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		*d = Date{}
		return nil
	case '"':
		v, err := ParseDate(tok.String())
		if err != nil {
			return err
		}
		*d = v
		return nil
	}
	return fmt.Errorf("a date must be a string YYYY-MM-DD")
}

// Period is a half-open span of dates [From, To).
type Period struct {
	From, To Date
}

// Days returns To − From.
func (p Period) Days() int { return p.From.DaysUntil(p.To) }

// Contains reports whether From <= d < To.
func (p Period) Contains(d Date) bool { return !d.Before(p.From) && d.Before(p.To) }

// ContractYears describes the contract years of a contract signed on a date:
// year k runs from Start(k) = signed + (k−1) years to End(k) = signed + k
// years, exclusive, with month-end clamping.
type ContractYears struct {
	Signed Date
	Count  int
}

// Start returns the first day of year k.
func (c ContractYears) Start(k int) Date { return c.Signed.AddYears(k - 1) }

// End returns the day after the last day of year k.
func (c ContractYears) End(k int) Date { return c.Signed.AddYears(k) }

// Year returns the period of year k.
func (c ContractYears) Year(k int) Period { return Period{From: c.Start(k), To: c.End(k)} }

// Days returns the length of year k in days (365 or 366).
func (c ContractYears) Days(k int) int { return c.Year(k).Days() }

// Of returns the contract year holding d, or 0 when d is outside the
// contract.
func (c ContractYears) Of(d Date) int {
	for k := 1; k <= c.Count; k++ {
		if c.Year(k).Contains(d) {
			return k
		}
	}
	return 0
}

// IsAnniversary reports whether d starts a contract year other than the
// first (the signature date itself is not an anniversary).
func (c ContractYears) IsAnniversary(d Date) bool {
	k := c.Of(d)
	return k >= 2 && c.Start(k).Equal(d)
}
