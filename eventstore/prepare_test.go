package eventstore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
)

// FuzzCompactJSON checks that Prepare accepts exactly the data json.Compact
// accepts and stores exactly what json.Compact writes, whichever of its two
// paths (already compact, or not) the data takes. `go test` runs the seeds;
// `go test -fuzz FuzzCompactJSON ./eventstore/` searches further.
func FuzzCompactJSON(f *testing.F) {
	for _, seed := range []string{
		`{}`, `[]`, `0`, `-0`, `1.5e-3`, `"x"`, `null`, `true`, `false`,
		`{"a":"b c","d":[1,2,{"e":null}]}`, `{"a": "b"}`, " {\"a\":1}\n", `{"a":"\"}"}`, `{"a":"\\"}`,
		`{"a":"\u00e9\n"}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":01}`, `{"a":1.}`, `{"a":-}`,
		`{"a":1e}`, `{"a":+1}`, `{"a":.5}`, `{"a":NaN}`, `{"a":tru}`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{a:1}`,
		`{"a":1}{}`, `{"a":1} x`, `"unterminated`, `{"a":"\"`, "\"\xff\xfe\"", `{"é":"ü"}`, ``, ` `, `[`, `]`,
		`{"payment_id":"9b0c8f5e","lines":[{"component":"operating","amount":"60000.00"}],"reason":"signed by the CPAM"}`,
	} {
		f.Add([]byte(seed))
	}
	// Nesting beyond encoding/json's limit, as seeds mutated by the fuzzer
	// would stall it.
	for _, n := range []int{10000, 10001} {
		checkCompactJSON(f, []byte(strings.Repeat("[", n)+strings.Repeat("]", n)))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkCompactJSON(t, data) })
}

func checkCompactJSON(t testing.TB, data []byte) {
	var want bytes.Buffer
	stdErr := json.Compact(&want, data)
	if len(data) == 0 {
		stdErr = errors.New("empty")
	}
	out, err := eventstore.Prepare("s", []eventstore.EventData{{ID: uuid.New(), Type: "T", Data: data}})
	if (err != nil) != (stdErr != nil) {
		t.Fatalf("Prepare error %v, json.Compact error %v, for %q", err, stdErr, data)
	}
	if err != nil {
		if !errors.Is(err, eventstore.ErrInvalidEvent) {
			t.Fatalf("Prepare error %v is not ErrInvalidEvent", err)
		}
		return
	}
	if !bytes.Equal(out[0].Data, want.Bytes()) {
		t.Fatalf("Prepare stored %q, json.Compact writes %q", out[0].Data, want.Bytes())
	}
	if len(data) > 0 && &out[0].Data[0] == &data[0] {
		t.Fatal("Prepare keeps the caller's buffer: an append the caller gave up on could store what the caller writes next")
	}
}

func BenchmarkPrepare(b *testing.B) {
	evs := make([]eventstore.EventData, 100)
	for i := range evs {
		evs[i] = eventstore.EventData{ID: uuid.New(), Type: "PaymentDecided", OccurredOn: "2022-01-01",
			Data: json.RawMessage(`{"payment_id":"9b0c8f5e-8d0f-5f0e-9a43-2d8f3b1c0a11","kind":"annual_balance","contract_year":2,` +
				`"due_on":"2021-12-01","decided_on":"2022-01-01","status":"decided","amount":"75375.00","rulebook":"aci-cpts-2019",` +
				`"lines":[{"component":"operating","amount":"60000.00","basis":"tier 2, 40 000 inhabitants"}]}`)}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eventstore.Prepare("s", evs); err != nil {
			b.Fatal(err)
		}
	}
}
