package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/go-json-experiment/json/jsontext"
	"math/big"

	"github.com/shopspring/decimal"
)

// Money is an amount in euros with cents. Values come from rounding an exact
// quantity to the cent (Exact.Cents) or from parsing; sums of Money stay
// exact. It encodes in JSON as a string with exactly two decimals:
// "60000.00".
type Money struct{ d decimal.Decimal }

// Zero is 0.00 €.
var Zero = Money{}

// ParseMoney reads an amount with at most two decimals.
func ParseMoney(s string) (Money, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Money{}, fmt.Errorf("%q is not an amount", s)
	}
	if d.Exponent() < -2 && !d.Equal(d.Round(2)) {
		return Money{}, fmt.Errorf("%q has more than two decimals", s)
	}
	return Money{d: d.Round(2)}, nil
}

// MustMoney is ParseMoney for literals known to be valid.
func MustMoney(s string) Money {
	m, err := ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Decimal returns the amount as a decimal.
func (m Money) Decimal() decimal.Decimal { return m.d }

// Add returns m + n.
func (m Money) Add(n Money) Money { return Money{d: m.d.Add(n.d)} }

// Sub returns m − n.
func (m Money) Sub(n Money) Money { return Money{d: m.d.Sub(n.d)} }

// Neg returns −m.
func (m Money) Neg() Money { return Money{d: m.d.Neg()} }

// Sign returns -1, 0 or +1.
func (m Money) Sign() int { return m.d.Sign() }

// IsZero reports whether m is 0.00.
func (m Money) IsZero() bool { return m.d.IsZero() }

// Equal compares amounts by value.
func (m Money) Equal(n Money) bool { return m.d.Equal(n.d) }

// Cmp returns -1, 0 or +1.
func (m Money) Cmp(n Money) int { return m.d.Cmp(n.d) }

// String returns the amount with exactly two decimals, e.g. "-1250.50".
func (m Money) String() string { return m.d.StringFixed(2) }

// Exact returns m as an exact quantity.
func (m Money) Exact() Exact { return ExactDecimal(m.d) }

// MarshalJSON writes the amount as a string with two decimals.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(`"` + m.String() + `"`), nil }

// UnmarshalJSON reads an amount written as a string (or, leniently, a JSON
// number) with at most two decimals.
func (m *Money) UnmarshalJSON(b []byte) error {
	var s string
	if bytes.HasPrefix(b, []byte(`"`)) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// UnmarshalJSONFrom is UnmarshalJSON for encoding/json/v2's decoder (the
// events' decoder, DecodeAs), reading the token in place.
func (m *Money) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if k := tok.Kind(); k != '"' && k != '0' {
		return fmt.Errorf("an amount must be a string, not a JSON %s", k)
	}
	v, err := ParseMoney(tok.String())
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Exact is an exact rational quantity: the products and ratios of a
// breakdown line are computed with it, and only the line is rounded
// (domain.md 2.8). It never divides with a silent precision, unlike
// decimal.Div. The zero value is 0. Values are immutable.
type Exact struct{ r *big.Rat }

func (e Exact) rat() *big.Rat {
	if e.r == nil {
		return new(big.Rat)
	}
	return e.r
}

// ExactDecimal returns d exactly.
func ExactDecimal(d decimal.Decimal) Exact { return Exact{r: d.Rat()} }

// ExactInt returns n.
func ExactInt(n int64) Exact { return Exact{r: new(big.Rat).SetInt64(n)} }

// Ratio returns a/b exactly; b must not be 0.
func Ratio(a, b int64) Exact {
	if b == 0 {
		panic("domain: ratio with a zero denominator")
	}
	return Exact{r: big.NewRat(a, b)}
}

// Mul returns e × f.
func (e Exact) Mul(f Exact) Exact { return Exact{r: new(big.Rat).Mul(e.rat(), f.rat())} }

// Add returns e + f.
func (e Exact) Add(f Exact) Exact { return Exact{r: new(big.Rat).Add(e.rat(), f.rat())} }

// Sub returns e − f.
func (e Exact) Sub(f Exact) Exact { return Exact{r: new(big.Rat).Sub(e.rat(), f.rat())} }

// Quo returns e / f; f must not be 0.
func (e Exact) Quo(f Exact) Exact {
	if f.rat().Sign() == 0 {
		panic("domain: division by zero")
	}
	return Exact{r: new(big.Rat).Quo(e.rat(), f.rat())}
}

// Clamp returns e limited to [lo, hi].
func (e Exact) Clamp(lo, hi Exact) Exact {
	if e.rat().Cmp(lo.rat()) < 0 {
		return lo
	}
	if e.rat().Cmp(hi.rat()) > 0 {
		return hi
	}
	return e
}

// Cents rounds e to the cent, half away from zero: the one rounding step of
// a breakdown line.
func (e Exact) Cents() Money {
	r := e.rat()
	num := new(big.Int).Mul(r.Num(), big.NewInt(100))
	den := r.Denom()
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	// |rem| * 2 >= den rounds away from zero.
	rem.Abs(rem).Lsh(rem, 1)
	if rem.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return Money{d: decimal.NewFromBigInt(q, -2)}
}

// Decimal returns e rounded half away from zero to the given number of
// places, for display (an achievement rate, say).
func (e Exact) Decimal(places int32) decimal.Decimal {
	r := e.rat()
	return decimal.NewFromBigInt(r.Num(), 0).DivRound(decimal.NewFromBigInt(r.Denom(), 0), places)
}

func (e Exact) String() string { return e.rat().RatString() }

// Cmp compares e and f: -1, 0 or +1.
func (e Exact) Cmp(f Exact) int { return e.rat().Cmp(f.rat()) }

// MoneyFromCents returns an amount given in cents.
func MoneyFromCents(c int64) Money { return Money{d: decimal.New(c, -2)} }

// Cents returns the amount in cents.
func (m Money) Cents() int64 { return m.d.Shift(2).IntPart() }

// Less reports whether m < n.
func (m Money) Less(n Money) bool { return m.d.LessThan(n.d) }
