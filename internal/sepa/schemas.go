package sepa

import (
	_ "embed"
	"sync"
)

// The EPC's schemas, as published for the SEPA Credit Transfer scheme
// (2023 implementation guidelines, customer-to-PSP) and the statement
// banks send: a payment file is checked against the first before it is
// written, a statement against the second before anything it says is.
var (
	//go:embed schemas/pain.001.001.09.xsd
	pain001XSD []byte
	//go:embed schemas/camt.053.001.08.xsd
	camt053XSD []byte

	// Pain001 is the schema of a payment file.
	Pain001 = sync.OnceValues(func() (*Schema, error) { return LoadSchema(pain001XSD) })
	// Camt053 is the schema of a bank statement.
	Camt053 = sync.OnceValues(func() (*Schema, error) { return LoadSchema(camt053XSD) })
)
