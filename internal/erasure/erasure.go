// Package erasure erases a doctor's personal data (ledger erase): every aid
// contract of the doctor records PersonalDataErased, then the key that
// seals their data is destroyed (crypto-shredding; docs/privacy.md). The
// log is not touched: its hashes, chains, Merkle leaves and checkpoints
// are of the sealed bytes, which stay.
package erasure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/personal"
	"github.com/cptsledger/ledger/query"
)

// Request is what the admin asks: whose data, why, and, before the end of
// the retention period, on what legal basis.
type Request struct {
	Person     string
	Reason     string
	LegalBasis string
}

// Report is what an erasure did (with --json, as is). It names the
// doctor's contracts and the key, never the doctor.
type Report struct {
	KeyID     string     `json:"key_id"`
	Contracts []Contract `json:"contracts"`
	// KeyDestroyed: the key is gone from the key store (now, or by an
	// erasure before).
	KeyDestroyed bool `json:"key_destroyed"`
}

// Contract is one contract of the doctor and what the erasure did to it.
type Contract struct {
	ContractID    uuid.UUID   `json:"contract_id"`
	RetentionEnds domain.Date `json:"retention_ends"`
	// Recorded: PersonalDataErased recorded now; Already: before (an
	// erasure interrupted, run again).
	Recorded bool `json:"recorded"`
	Already  bool `json:"already"`
}

var rppsPattern = regexp.MustCompile(`^[0-9]{11}$`)

// ErrRefused is an erasure refused before anything was written: Problems
// says why, contract by contract.
type ErrRefused struct{ Problems []string }

func (e *ErrRefused) Error() string {
	return "erase refused, nothing written: " + strings.Join(e.Problems, "; ")
}

// Erase erases the person's personal data. It checks every contract first
// (the retention period, unless a legal basis is given): one refused, none
// is written. Then each contract records the erasure, and only once all
// have does the key go. Killed half way, it is run again: the contracts
// recorded are duplicates, the rest are recorded, then the key goes.
func Erase(ctx context.Context, ledger *app.Ledger, q *query.Ledger, keys *personal.Store, r Request, log *slog.Logger) (Report, error) {
	if !rppsPattern.MatchString(r.Person) {
		return Report{}, &ErrRefused{[]string{fmt.Sprintf("--person: an RPPS number has 11 digits, got %q", r.Person)}}
	}
	if r.Reason == "" {
		return Report{}, &ErrRefused{[]string{"--reason: is required (why the data are erased; it is recorded, so it must not name the person)"}}
	}
	keyID, held, err := keys.Lookup(r.Person)
	if err != nil {
		return Report{}, err
	}
	if !held {
		return Report{}, &ErrRefused{[]string{fmt.Sprintf("no key of RPPS %s in the key store: nothing of theirs is sealed in this ledger, or their data were erased already", r.Person)}}
	}
	rep := Report{KeyID: keyID}
	contracts, err := q.PersonalContracts(ctx, r.Person, keyID)
	if err != nil {
		return rep, err
	}
	if err := check(ctx, q, contracts, r, &rep); err != nil {
		return rep, err
	}
	for i, c := range rep.Contracts {
		if c.Already {
			continue
		}
		if err := record(ctx, ledger, c.ContractID, keyID, r); err != nil {
			return rep, err
		}
		rep.Contracts[i].Recorded = true
		log.Debug("erase: contract recorded", "contract", c.ContractID)
	}
	if err := keys.Destroy(keyID, time.Now()); err != nil {
		return rep, err
	}
	rep.KeyDestroyed = true
	log.Debug("erase: key destroyed", "key", keyID)
	return rep, nil
}

// check judges every contract before anything is written: sealed under the
// person's key, and past its retention period (or a legal basis given).
func check(ctx context.Context, q *query.Ledger, contracts []query.PersonalContract, r Request, rep *Report) error {
	if len(contracts) == 0 {
		return &ErrRefused{[]string{fmt.Sprintf("the key store has a key for RPPS %s but no aid contract of theirs is in the read models", r.Person)}}
	}
	today := domain.DateOf(time.Now())
	var problems []string
	for _, pc := range contracts {
		c, err := q.AidContract(ctx, pc.ContractID)
		if err != nil {
			return err
		}
		ends := c.RetentionEnds()
		rep.Contracts = append(rep.Contracts, Contract{ContractID: pc.ContractID, RetentionEnds: ends, Already: !pc.ErasedOn.IsZero()})
		switch {
		case !pc.ErasedOn.IsZero():
		case pc.KeyID == "":
			problems = append(problems, fmt.Sprintf("contract %s: the doctor's data were recorded in clear, before personal data were sealed: no key erases them (docs/privacy.md)", pc.ContractID))
		case pc.KeyID != rep.KeyID:
			problems = append(problems, fmt.Sprintf("contract %s: sealed under key %s, not the doctor's key %s in the key store: the key store is not this log's (restored from elsewhere?)", pc.ContractID, pc.KeyID, rep.KeyID))
		case today.Before(ends) && r.LegalBasis == "":
			problems = append(problems, fmt.Sprintf("contract %s: kept until %s (the last payment + %d years); --legal-basis to erase before", pc.ContractID, ends, c.Rulebook.PersonalDataRetentionYears))
		}
	}
	if len(problems) > 0 {
		return &ErrRefused{problems}
	}
	return nil
}

// record submits the erasure of one contract; its command id is the key's,
// so that a second run finds it recorded (a duplicate).
func record(ctx context.Context, ledger *app.Ledger, contract uuid.UUID, keyID string, r Request) error {
	cmd := map[string]string{"type": "ErasePersonalData", "command_id": "erase-" + keyID, "contract_id": contract.String(), "reason": r.Reason}
	if r.LegalBasis != "" {
		cmd["legal_basis"] = r.LegalBasis
	}
	line, _ := json.Marshal(cmd)
	res, err := ledger.Submit(ctx, line)
	if err != nil {
		return err
	}
	if !res.OK {
		return errors.New("contract " + contract.String() + ": " + res.Error.Message)
	}
	return nil
}
