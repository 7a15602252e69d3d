package chainstatus

import (
	"encoding/json"
	"fmt"
	"time"
)

// ModelsFile keeps, in the data directory, the verdict of the last
// comparison of the read models with the log (ledger verify): a read-model
// file found different is not served — queries exit 1, the API answers
// 503 naming the contract and the table — until a rebuild replaces it.
const ModelsFile = "models-status.json"

// ModelsStatus is the verdict of a comparison of one read-model file.
type ModelsStatus struct {
	OK        bool      `json:"ok"`
	CheckedAt time.Time `json:"checked_at"`
	// File is the read-model file compared (its name in the data
	// directory): a rebuild makes another, which the verdict does not
	// concern.
	File string `json:"file"`
	// The first difference, and how many rows differ.
	Table      string `json:"table,omitempty"`
	ContractID string `json:"contract_id,omitempty"`
	Detail     string `json:"detail,omitempty"`
	Rows       int64  `json:"rows,omitempty"`
}

// ModelsDifferError is a query refused because the read models it would
// read were found different from the log.
type ModelsDifferError struct{ Status ModelsStatus }

func (e *ModelsDifferError) Error() string {
	s := e.Status
	where := "table " + s.Table
	if s.ContractID != "" {
		where += ", contract " + s.ContractID
	}
	return fmt.Sprintf("the read models in %s differ from the log in %d rows (first: %s; %s), found by ledger verify at %s: nothing is served from them until ledger rebuild makes them again from the log",
		s.File, s.Rows, where, s.Detail, s.CheckedAt.Format(time.RFC3339))
}

// WriteModels records a read-model verdict (0600, one rename).
func WriteModels(dir string, st ModelsStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeAtomic(dir, ModelsFile, append(b, '\n'))
}

// ReadModels returns the last read-model verdict; ok is false when none
// was recorded.
func ReadModels(dir string) (st ModelsStatus, ok bool, err error) {
	ok, err = readVerdict(dir, ModelsFile, &st)
	return st, ok, err
}

// GuardModels refuses (*ModelsDifferError) when the last verdict found
// the read-model file current (its name) different from the log.
func GuardModels(dir, current string) error {
	st, ok, err := ReadModels(dir)
	if err != nil {
		return err
	}
	if ok && !st.OK && st.File == current {
		return &ModelsDifferError{Status: st}
	}
	return nil
}
