package projections

import (
	"context"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
)

// lettersProjection keeps the letters of intent (avenant 2): validated by
// the ARS before any contract, each with its aid decided in its own stream
// (the payments projection holds the aid, under the letter's id), and the
// contract that follows it, once one names it.
type lettersProjection struct{}

func (lettersProjection) Name() string { return "letters" }
func (lettersProjection) Version() int { return 1 }

func (lettersProjection) Schema() string {
	return `
CREATE TABLE IF NOT EXISTS letters (
	letter_id    TEXT PRIMARY KEY,
	cpts_id      TEXT NOT NULL,
	cpts_name    TEXT NOT NULL,
	ars          TEXT NOT NULL,
	cpam         TEXT NOT NULL,
	population   INTEGER NOT NULL,
	tier         TEXT NOT NULL,
	rulebook     TEXT NOT NULL,
	validated_on TEXT NOT NULL,
	recorded_at  TEXT NOT NULL,  -- when the ledger recorded the validation
	contract_id  TEXT,           -- the contract that follows the letter, once signed
	followed_on  TEXT,           -- its signature date
	followed_recorded_at TEXT    -- when the ledger recorded that signature
) WITHOUT ROWID;`
}

func (lettersProjection) Indexes() []Index {
	return []Index{{Name: "letters_by_contract", On: "letters (contract_id)"}}
}
func (lettersProjection) NewFold() Fold { return &lettersFold{} }
func (lettersProjection) Reads() []string {
	return []string{cpts.TypeLetterOfIntentValidated, cpts.TypeContractSigned}
}

// letterDelta is what a fold knows of a letter: its row when it saw the
// validation, the contract that follows it when it saw that signature.
type letterDelta struct {
	row      *cpts.LetterOfIntentValidated
	recorded string
	follower *cpts.ContractSigned
	followed string // when the follower's signature was recorded
}

type lettersFold struct{ byContract[letterDelta] }

func (f *lettersFold) Held() int { return f.len() }

func (f *lettersFold) Add(ev *Event) error {
	if ev.Scheme != cpts.Scheme {
		return nil
	}
	switch e := ev.Payload.(type) {
	case cpts.LetterOfIntentValidated:
		d := f.get(e.LetterID)
		d.row, d.recorded = &e, recordedAt(ev)
	case cpts.ContractSigned:
		if e.LetterID != nil {
			d := f.get(*e.LetterID)
			d.follower, d.followed = &e, recordedAt(ev)
		}
	}
	return nil
}

// Flush writes each letter, then the contract that follows it: a letter
// is validated before the signature that names it (domain), so its row is
// in the file or in this flush when the signature comes.
func (f *lettersFold) Flush(ctx context.Context, w *Writer) error {
	return f.each(func(id uuid.UUID, d *letterDelta) error {
		if r := d.row; r != nil {
			if err := w.Exec(ctx, `INSERT OR REPLACE INTO letters (letter_id, cpts_id, cpts_name, ars, cpam, population, tier, rulebook,
				validated_on, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)`, id.String(), r.CPTS.ID, r.CPTS.Name, r.ARS, r.CPAM, r.Population,
				r.Tier, r.Rulebook, r.ValidatedOn.String(), d.recorded); err != nil {
				return err
			}
		}
		if s := d.follower; s != nil {
			return w.Exec(ctx, `UPDATE letters SET contract_id = ?, followed_on = ?, followed_recorded_at = ? WHERE letter_id = ?`,
				s.ContractID.String(), s.SignedOn.String(), d.followed, id.String())
		}
		return nil
	})
}

// LetterRow is a letter of intent as a window sees it: validated on or
// before its date and recorded by its time, with the contract that follows
// it when the window sees that signature too (else ContractID is zero).
type LetterRow struct {
	LetterID                                    uuid.UUID
	CPTSID, CPTSName, ARS, CPAM, Tier, Rulebook string
	Population                                  int
	ValidatedOn                                 domain.Date
	ContractID                                  uuid.UUID
	FollowedOn                                  domain.Date
}

const lettersAtSQL = `SELECT letter_id, cpts_id, cpts_name, ars, cpam, population, tier, rulebook, validated_on,
	CASE WHEN contract_id IS NOT NULL AND followed_on <= ?1 AND followed_recorded_at <= ?2 THEN contract_id ELSE '' END,
	CASE WHEN contract_id IS NOT NULL AND followed_on <= ?1 AND followed_recorded_at <= ?2 THEN followed_on ELSE '' END
	FROM letters WHERE validated_on <= ?1 AND recorded_at <= ?2`

// LettersAt returns every letter the window sees, in validation order.
func (db *DB) LettersAt(ctx context.Context, w Window) ([]LetterRow, error) {
	return db.letters(ctx, lettersAtSQL+` ORDER BY validated_on, letter_id`, w.asOf(), w.knownAt())
}

// LetterAt returns the letter id as the window sees it; ok is false when
// it sees none.
func (db *DB) LetterAt(ctx context.Context, id uuid.UUID, w Window) (LetterRow, bool, error) {
	ls, err := db.letters(ctx, lettersAtSQL+` AND letter_id = ?3`, w.asOf(), w.knownAt(), id.String())
	if err != nil || len(ls) == 0 {
		return LetterRow{}, false, err
	}
	return ls[0], true, nil
}

// LetterOf returns the letter the contract follows, as the window sees
// it; ok is false when it follows none the window sees.
func (db *DB) LetterOf(ctx context.Context, contract uuid.UUID, w Window) (LetterRow, bool, error) {
	ls, err := db.letters(ctx, lettersAtSQL+` AND contract_id = ?3`, w.asOf(), w.knownAt(), contract.String())
	if err != nil || len(ls) == 0 || ls[0].ContractID != contract {
		return LetterRow{}, false, err
	}
	return ls[0], true, nil
}

func (db *DB) letters(ctx context.Context, query string, args ...any) ([]LetterRow, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LetterRow
	for rows.Next() {
		var l LetterRow
		var id, validated, contract, followed string
		if err := rows.Scan(&id, &l.CPTSID, &l.CPTSName, &l.ARS, &l.CPAM, &l.Population, &l.Tier, &l.Rulebook, &validated, &contract, &followed); err != nil {
			return nil, err
		}
		var rd stored
		l.LetterID, l.ValidatedOn = rd.id(id), rd.date(validated)
		if contract != "" {
			l.ContractID, l.FollowedOn = rd.id(contract), rd.date(followed)
		}
		if err := rd.check("letter " + id); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
