// Package schemetest is the conformance suite of a payment scheme
// (domain.Scheme), in the shape of eventstore/storetest and app/apptest:
// what the command path, the read models, the relay and the console take
// for granted of every scheme, checked by replaying the scheme's worked
// lifecycles. A new scheme passes it before anything serves it.
package schemetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
)

// Config is the scheme under test and what the suite needs of its world.
type Config struct {
	Scheme domain.Scheme
	// Histories are JSON lines of commands of the scheme, in order: the
	// worked lifecycles. A correction names its target as "@<command id>"
	// (the first event that command recorded).
	Histories [][]byte
	// Words tells whether the console has words for an event type;
	// AsyncAPI whether docs/asyncapi.yaml describes its message.
	Words    func(typ string) bool
	AsyncAPI func(eventType string) bool
}

// Run runs every check on c.
func Run(t *testing.T, c Config) {
	h := replay(t, c)
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Config, *history)
	}{
		{"decide_does_not_change_the_state", testDecidePure},
		{"forecast_equals_decide", testForecastEqualsDecide},
		{"every_event_round_trips", testRoundTrip},
		{"unknown_schema_version_refused", testSchemaVersion},
		{"every_type_has_words_and_a_message", testDescribed},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, c, h) })
	}
}

// step is one command of a history, decided on the state before it.
type step struct {
	cmd    domain.Command
	ref    domain.Reference // the reference facts as the command saw them (nil: a scheme without)
	prior  []domain.Event   // the events the contract's stream held before it
	events []domain.Event
}

// before is the contract's state before the step, folded anew.
func (s step) before(t *testing.T, sc domain.Scheme) domain.State {
	return fold(t, sc, s.cmd.Meta().ContractID, s.prior)
}

// history is the histories replayed: every step, and the event types seen.
type history struct {
	steps []step
	seen  map[string]bool
}

var ref = regexp.MustCompile(`"@([^"]+)"`)

// eventID stands for the first event a command recorded.
func eventID(commandID string) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("schemetest/"+commandID))
}

// replay decides every command of the histories in order, each on its
// contract's state, as the command path does: a correction's target
// resolved among the events recorded so far; for a scheme with reference
// facts, a reference command decided on the facts and folded into them,
// and every other command handed them (WithReference).
func replay(t *testing.T, c Config) *history {
	t.Helper()
	h := &history{seen: map[string]bool{}}
	streams := map[uuid.UUID][]domain.Event{}
	targets := map[uuid.UUID]domain.EventRef{}
	rf, hasFacts := c.Scheme.(domain.ReferenceFacts)
	var facts domain.Reference
	if hasFacts {
		facts = rf.NewReference()
	}
	for n, raw := range c.Histories {
		raw = ref.ReplaceAllFunc(raw, func(m []byte) []byte { return []byte(`"` + eventID(string(m[2:len(m)-1])).String() + `"`) })
		if head, err := domain.PeekHeader(raw); err == nil && hasFacts && slices.Contains(rf.ReferenceCommands(), head.Type) {
			replayReference(t, rf, facts, raw, h)
			continue
		}
		cmd, err := c.Scheme.DecodeCommand(raw)
		if err != nil {
			t.Fatalf("history line %d: decode: %v", n+1, err)
		}
		var seenFacts domain.Reference
		if hasFacts {
			seenFacts = facts.Clone()
			cmd = rf.WithReference(cmd, seenFacts)
		}
		if corr, ok := cmd.(domain.Correction); ok {
			m := corr.Correction()
			m.Target = targets[m.Corrects]
		}
		id := cmd.Meta().ContractID
		events, err := c.Scheme.Decide(fold(t, c.Scheme, id, streams[id]), cmd)
		if err != nil {
			t.Fatalf("history line %d (%s): rejected: %v", n+1, cmd.CommandType(), err)
		}
		h.steps = append(h.steps, step{cmd: cmd, ref: seenFacts, prior: streams[id], events: events})
		if len(events) > 0 {
			streams[id] = append(slices.Clip(streams[id]), events...)
			targets[eventID(cmd.Meta().CommandID)] = domain.EventRef{ID: eventID(cmd.Meta().CommandID), Found: true,
				Type: events[0].EventType(), OccurredOn: events[0].BusinessDate(), Event: events[0]}
		}
		for _, e := range events {
			h.seen[e.EventType()] = true
		}
	}
	if len(h.steps) == 0 {
		t.Fatal("schemetest: no history to replay")
	}
	return h
}

// replayReference decides a reference command on the facts and folds its
// events into them.
func replayReference(t *testing.T, rf domain.ReferenceFacts, facts domain.Reference, raw []byte, h *history) {
	t.Helper()
	cmd, err := rf.DecodeReferenceCommand(raw)
	if err != nil {
		t.Fatalf("%s: decode: %v", raw, err)
	}
	events, err := rf.DecideReference(facts, cmd)
	if err != nil {
		t.Fatalf("%s: rejected: %v", raw, err)
	}
	for i, e := range events {
		id := eventID(cmd.Meta().CommandID)
		if i > 0 {
			id = uuid.NewSHA1(id, []byte{byte(i)})
		}
		if err := facts.Apply(id, e); err != nil {
			t.Fatal(err)
		}
		h.seen[e.EventType()] = true
	}
}

// fold is the state of a contract whose stream holds events.
func fold(t *testing.T, s domain.Scheme, id uuid.UUID, events []domain.Event) domain.State {
	t.Helper()
	st := s.NewState(id)
	for _, e := range events {
		if err := st.Apply(e); err != nil {
			t.Fatalf("apply %s: %v", e.EventType(), err)
		}
	}
	return st
}

// Decide never changes the state it is given: deciding a command again on
// the state before it gives the same events, and leaves that state equal
// to one folded anew that was never asked.
func testDecidePure(t *testing.T, c Config, h *history) {
	for n, s := range h.steps {
		st, untouched := s.before(t, c.Scheme), s.before(t, c.Scheme)
		again, err := c.Scheme.Decide(st, s.cmd)
		if err != nil {
			t.Fatalf("step %d (%s): decided again: %v", n, s.cmd.CommandType(), err)
		}
		if !reflect.DeepEqual(again, s.events) {
			t.Fatalf("step %d (%s): deciding again on the same state gave other events", n, s.cmd.CommandType())
		}
		if !reflect.DeepEqual(st, untouched) {
			t.Fatalf("step %d (%s): Decide changed the state it was given", n, s.cmd.CommandType())
		}
	}
}

// Forecast is a dry run of DecideDuePayments: on the state before each
// decision of the histories, what it forecasts as due by the decision's
// date is what the decision decides.
func testForecastEqualsDecide(t *testing.T, c Config, h *history) {
	checked := 0
	for n, s := range h.steps {
		d, ok := s.cmd.(domain.DecideDuePayments)
		if !ok {
			continue
		}
		st, untouched := s.before(t, c.Scheme), s.before(t, c.Scheme)
		var dues []domain.Due
		var err error
		if rf, ok := c.Scheme.(domain.ReferenceFacts); ok {
			dues, err = rf.ForecastWith(st, d.AsOf, s.ref)
		} else {
			dues, err = c.Scheme.Forecast(st, d.AsOf)
		}
		if err != nil {
			t.Fatalf("step %d: forecast: %v", n, err)
		}
		if !reflect.DeepEqual(st, untouched) {
			t.Fatalf("step %d: Forecast changed the state it was given", n)
		}
		var forecast []domain.Due
		for _, due := range dues {
			if due.Kind != domain.KindReportAwaited {
				forecast = append(forecast, due)
			}
		}
		decided := domain.PaymentsDue(paymentsOf(s.events))
		if !sameDues(forecast, decided) {
			t.Fatalf("step %d (as of %s): forecast %s, decided %s", n, d.AsOf, dueList(forecast), dueList(decided))
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no DecideDuePayments in the histories")
	}
}

func paymentsOf(events []domain.Event) []domain.PaymentDecided {
	var out []domain.PaymentDecided
	for _, e := range events {
		if p, ok := e.(domain.PaymentDecided); ok {
			out = append(out, p)
		}
	}
	return out
}

func sameDues(a, b []domain.Due) bool {
	return slices.Equal(dueKeys(a), dueKeys(b))
}

func dueKeys(ds []domain.Due) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		amount := "-"
		if d.Amount != nil {
			amount = d.Amount.String()
		}
		out[i] = fmt.Sprintf("%s/%d/%s/%s/%s/%s", d.Kind, d.ContractYear, d.Mission, d.DueOn, amount, d.Status)
	}
	slices.Sort(out)
	return out
}

func dueList(ds []domain.Due) string { return fmt.Sprint(dueKeys(ds)) }

// Every event the histories produce is read back as it was written: the
// decoder of its type, at the current schema version, gives the same
// value and, encoded again, the same bytes.
func testRoundTrip(t *testing.T, c Config, h *history) {
	for n, s := range h.steps {
		for _, e := range s.events {
			data, err := json.Marshal(e)
			if err != nil {
				t.Fatalf("step %d: encode %s: %v", n, e.EventType(), err)
			}
			back, err := c.Scheme.DecodeEvent(e.EventType(), domain.SchemaVersion, data)
			if err != nil {
				t.Fatalf("step %d: decode %s: %v", n, e.EventType(), err)
			}
			again, _ := json.Marshal(back)
			if !bytes.Equal(again, data) || reflect.TypeOf(back) != reflect.TypeOf(e) {
				t.Fatalf("step %d: %s does not round-trip:\n wrote %s\n read  %s", n, e.EventType(), data, again)
			}
		}
	}
	var unseen []string
	for _, typ := range c.Scheme.EventTypes() {
		if !h.seen[typ] {
			unseen = append(unseen, typ)
		}
	}
	if len(unseen) > 0 {
		t.Logf("event types the histories do not produce (their round trip is not checked here): %v", unseen)
	}
}

// An event of a schema version the scheme does not know is an error, never
// data read with the wrong shape; so is a type it does not know.
func testSchemaVersion(t *testing.T, c Config, h *history) {
	for _, typ := range c.Scheme.EventTypes() {
		if _, err := c.Scheme.DecodeEvent(typ, domain.SchemaVersion+1, []byte(`{}`)); err == nil {
			t.Errorf("%s at schema version %d decoded", typ, domain.SchemaVersion+1)
		}
	}
	if _, err := c.Scheme.DecodeEvent("NoSuchEvent", domain.SchemaVersion, []byte(`{}`)); err == nil {
		t.Error("an unknown event type decoded")
	}
}

// Every event type of the scheme has the console's words and a message in
// the AsyncAPI document.
func testDescribed(t *testing.T, c Config, h *history) {
	if c.Words == nil || c.AsyncAPI == nil {
		t.Fatal("schemetest: Config.Words and Config.AsyncAPI are required")
	}
	for _, typ := range c.Scheme.EventTypes() {
		if !c.Words(typ) {
			t.Errorf("%s has no words in the console", typ)
		}
		if !c.AsyncAPI(typ) {
			t.Errorf("%s has no message in docs/asyncapi.yaml", typ)
		}
	}
}
