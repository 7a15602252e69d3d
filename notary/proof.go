package notary

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/eventstore"
)

// ProofEvent is an event as a proof carries it: every field its hash
// covers, the data as stored (verbatim), and its hash chain.
type ProofEvent struct {
	EventID       uuid.UUID       `json:"event_id"`
	Stream        string          `json:"stream"`
	Revision      uint64          `json:"revision"`
	Position      uint64          `json:"position"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	OccurredOn    string          `json:"occurred_on"`
	RecordedAt    string          `json:"recorded_at"` // RFC 3339, UTC, microseconds: the form the hash covers
	Actor         string          `json:"actor"`
	CommandID     string          `json:"command_id"`
	CorrelationID string          `json:"correlation_id"`
	CausationID   string          `json:"causation_id"`
	Data          json.RawMessage `json:"data"`
	PrevHash      string          `json:"prev_hash"` // hex
	Hash          string          `json:"hash"`      // hex
}

// InclusionProof proves that an event is leaf LeafIndex of the tree a
// signed checkpoint names (RFC 9162 §2.1.3 audit path).
type InclusionProof struct {
	Event      ProofEvent `json:"event"`
	LeafIndex  int64      `json:"leaf_index"`
	TreeSize   int64      `json:"tree_size"`
	Inclusion  []string   `json:"inclusion"` // base64, from the leaf up
	Checkpoint string     `json:"checkpoint"`
}

// ConsistencyProof proves that the tree of an older checkpoint is a prefix
// of a newer one's (RFC 9162 §2.1.4). It carries both signed checkpoints,
// so that it can be checked offline.
type ConsistencyProof struct {
	OldSize       int64    `json:"old_size"`
	NewSize       int64    `json:"new_size"`
	Consistency   []string `json:"consistency"` // base64
	OldCheckpoint string   `json:"old_checkpoint"`
	NewCheckpoint string   `json:"new_checkpoint"`
}

func proofEvent(e *eventstore.Envelope) ProofEvent {
	return ProofEvent{EventID: e.EventID, Stream: e.Stream, Revision: e.Revision, Position: uint64(e.Position), Type: e.Type,
		SchemaVersion: e.SchemaVersion, OccurredOn: e.OccurredOn, RecordedAt: e.RecordedAt.UTC().Format(eventstore.RecordedAtFormat),
		Actor: e.Actor, CommandID: e.CommandID, CorrelationID: e.CorrelationID, CausationID: e.CausationID,
		Data: e.Data, PrevHash: e.PrevHash.String(), Hash: e.Hash.String()}
}

// envelope turns a proof's event back into what its hash covers.
func (p ProofEvent) envelope() (eventstore.Envelope, error) {
	e := eventstore.Envelope{EventID: p.EventID, Stream: p.Stream, Revision: p.Revision, Position: eventstore.Position(p.Position),
		Type: p.Type, SchemaVersion: p.SchemaVersion, OccurredOn: p.OccurredOn, Actor: p.Actor, CommandID: p.CommandID,
		CorrelationID: p.CorrelationID, CausationID: p.CausationID, Data: p.Data}
	t, err := time.Parse(eventstore.RecordedAtFormat, p.RecordedAt)
	if err != nil || t.UTC().Format(eventstore.RecordedAtFormat) != p.RecordedAt {
		return e, fmt.Errorf("recorded_at %q is not RFC 3339 in UTC with microseconds", p.RecordedAt)
	}
	e.RecordedAt = t
	if err := e.PrevHash.UnmarshalText([]byte(p.PrevHash)); err != nil {
		return e, fmt.Errorf("prev_hash: %w", err)
	}
	if err := e.Hash.UnmarshalText([]byte(p.Hash)); err != nil {
		return e, fmt.Errorf("hash: %w", err)
	}
	return e, nil
}

func encodeHashes[H ~[]tlog.Hash](hs H) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

func decodeHashes(ss []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("hash %d of the proof is not 32 bytes in standard base64", i)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

// checkAgainst checks that the tree's first c.Size leaves have c's root:
// a proof made from a tree that differs from the checkpoint could not
// verify, and saying so here is clearer.
func (t *Tree) checkAgainst(c Checkpoint) error {
	if c.Size > t.size {
		return fmt.Errorf("notary: the checkpoint covers %d events, the tree holds %d: run ledger checkpoint (or serve) to bring the tree up to date", c.Size, t.size)
	}
	root, err := t.Root(c.Size)
	if err != nil {
		return err
	}
	if root != c.Root {
		return fmt.Errorf("notary: the tree's first %d leaves do not have the checkpoint's root: the log or the tree was changed since it was signed (ledger verify --checkpoint tells where)", c.Size)
	}
	return nil
}

// ProveEvent returns the inclusion proof of an event in the tree of a
// signed checkpoint, with the event as stored now.
func (t *Tree) ProveEvent(ctx context.Context, store eventstore.Store, id uuid.UUID, checkpoint []byte) (InclusionProof, error) {
	c, err := ReadNote(checkpoint)
	if err != nil {
		return InclusionProof{}, err
	}
	if err := t.checkAgainst(c); err != nil {
		return InclusionProof{}, err
	}
	leaf, err := t.Find(id)
	if err != nil {
		return InclusionProof{}, err
	}
	if leaf.Index >= c.Size {
		return InclusionProof{}, fmt.Errorf("notary: event %s is leaf %d, after the checkpoint's %d leaves: prove it against a later checkpoint", id, leaf.Index, c.Size)
	}
	evs, err := store.ReadAll(ctx, leaf.Position-1, 1)
	if err != nil {
		return InclusionProof{}, err
	}
	if len(evs) == 0 || evs[0].EventID != id {
		return InclusionProof{}, fmt.Errorf("notary: the log has no event %s at position %d any more", id, leaf.Position)
	}
	proof, err := tlog.ProveRecord(c.Size, leaf.Index, t)
	if err != nil {
		return InclusionProof{}, err
	}
	return InclusionProof{Event: proofEvent(&evs[0]), LeafIndex: leaf.Index, TreeSize: c.Size, Inclusion: encodeHashes(proof),
		Checkpoint: string(checkpoint)}, nil
}

// ProveConsistency returns the consistency proof between two signed
// checkpoints of the tree.
func (t *Tree) ProveConsistency(older, newer []byte) (ConsistencyProof, error) {
	o, err := ReadNote(older)
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("old checkpoint: %w", err)
	}
	n, err := ReadNote(newer)
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("new checkpoint: %w", err)
	}
	if o.Size > n.Size {
		return ConsistencyProof{}, fmt.Errorf("notary: the old checkpoint (%d leaves) is larger than the new one (%d)", o.Size, n.Size)
	}
	for _, c := range []Checkpoint{o, n} {
		if err := t.checkAgainst(c); err != nil {
			return ConsistencyProof{}, err
		}
	}
	proof, err := tlog.ProveTree(n.Size, o.Size, t)
	if err != nil {
		return ConsistencyProof{}, err
	}
	return ConsistencyProof{OldSize: o.Size, NewSize: n.Size, Consistency: encodeHashes(proof),
		OldCheckpoint: string(older), NewCheckpoint: string(newer)}, nil
}

// MarshalProof writes a proof as one line of compact JSON, the event's data
// verbatim (no HTML escaping: the bytes are what the hash covers).
func MarshalProof(p any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// VerifiedProof says what a valid proof proved.
type VerifiedProof struct {
	Kind       string // "inclusion" or "consistency"
	Origin     string
	EventID    uuid.UUID
	LeafIndex  int64
	TreeSize   int64
	OldSize    int64
	Checkpoint Checkpoint
	// Event is the event an inclusion proof vouches for, its data the
	// exact bytes that were hashed; Amount is its data's "amount" where it
	// has one.
	Event  *ProofEvent
	Amount string
	// Notes are the signed checkpoints the proof carries, as carried (the
	// newer last): what a witness policy is checked on.
	Notes [][]byte
}

// ErrInvalidProof is matched by every proof that does not verify.
var ErrInvalidProof = errors.New("notary: invalid proof")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidProof, fmt.Sprintf(format, args...))
}

// strict is how a proof is decoded: the document a person or a tool reads
// back must be the one that was checked, so a member named twice (at any
// depth, the event's data included), a member whose name differs only in
// case from a known one, an unknown member and invalid UTF-8 are all
// refused. encoding/json (v1) would fold case and keep the last of two
// members: a second "DATA" beside "data" was hashed under one name and read
// under the other.
var strict = jsonv2.JoinOptions(jsonv2.RejectUnknownMembers(true), jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false), jsonv2.MatchCaseInsensitiveNames(false))

// DecodeProof decodes a proof strictly: an *InclusionProof or a
// *ConsistencyProof, telling them apart by their members.
func DecodeProof(raw []byte) (any, error) {
	var probe map[string]jsontext.Value
	if err := jsonv2.Unmarshal(raw, &probe, strict); err != nil {
		return nil, invalid("not one JSON object with each member once: %v", err)
	}
	_, inclusion := probe["event"]
	_, consistency := probe["consistency"]
	var p any
	switch {
	case inclusion && !consistency:
		p = new(InclusionProof)
	case consistency && !inclusion:
		p = new(ConsistencyProof)
	default:
		return nil, invalid("neither an inclusion proof (event) nor a consistency proof (consistency)")
	}
	if err := jsonv2.Unmarshal(raw, p, strict); err != nil {
		return nil, invalid("%v", err)
	}
	if ip, ok := p.(*InclusionProof); ok {
		// uuid accepts upper case, braces and "urn:uuid:"; the hash covers
		// the canonical text, so only that text may be shown.
		var id struct {
			Event struct {
				EventID string `json:"event_id"`
			} `json:"event"`
		}
		if err := jsonv2.Unmarshal(raw, &id); err != nil || id.Event.EventID != ip.Event.EventID.String() {
			return nil, invalid("event_id %q is not a UUID in its canonical form (lower case, with dashes)", id.Event.EventID)
		}
	}
	return p, nil
}

// VerifyProof checks a proof offline, with only the verifier key: for an
// inclusion proof, the event's hash recomputed from its fields (its data
// taken as the exact bytes decoded), the checkpoint's signature, and the
// audit path to its root; for a consistency proof, both checkpoints'
// signatures and the path between their roots. The proof is decoded
// strictly (DecodeProof).
func VerifyProof(raw []byte, v note.Verifier) (VerifiedProof, error) {
	p, err := DecodeProof(raw)
	if err != nil {
		return VerifiedProof{}, err
	}
	switch p := p.(type) {
	case *InclusionProof:
		return verifyInclusion(*p, v)
	default:
		return verifyConsistency(*p.(*ConsistencyProof), v)
	}
}

func verifyInclusion(p InclusionProof, v note.Verifier) (VerifiedProof, error) {
	env, err := p.Event.envelope()
	if err != nil {
		return VerifiedProof{}, invalid("event: %v", err)
	}
	if got := eventstore.ComputeHash(env.PrevHash, &env); got != env.Hash {
		return VerifiedProof{}, invalid("the event's hash recomputed from its fields is %s, not %s", hex.EncodeToString(got[:]), p.Event.Hash)
	}
	c, err := OpenCheckpoint([]byte(p.Checkpoint), v)
	if err != nil {
		return VerifiedProof{}, invalid("%v", err)
	}
	if c.Size != p.TreeSize {
		return VerifiedProof{}, invalid("tree_size %d is not the checkpoint's %d", p.TreeSize, c.Size)
	}
	path, err := decodeHashes(p.Inclusion)
	if err != nil {
		return VerifiedProof{}, invalid("%v", err)
	}
	if p.LeafIndex < 0 || p.LeafIndex >= c.Size {
		return VerifiedProof{}, invalid("leaf_index %d is outside the tree's %d leaves", p.LeafIndex, c.Size)
	}
	if err := tlog.CheckRecord(path, c.Size, c.Root, p.LeafIndex, tlog.RecordHash(env.Hash[:])); err != nil {
		return VerifiedProof{}, invalid("the audit path does not lead from the event to the checkpoint's root: %v", err)
	}
	amount, err := dataAmount(p.Event.Data)
	if err != nil {
		return VerifiedProof{}, invalid("event data: %v", err)
	}
	ev := p.Event
	return VerifiedProof{Kind: "inclusion", Origin: c.Origin, EventID: env.EventID, LeafIndex: p.LeafIndex, TreeSize: c.Size, Checkpoint: c,
		Event: &ev, Amount: amount, Notes: [][]byte{[]byte(p.Checkpoint)}}, nil
}

// dataAmount returns the "amount" member of an event's data, where it has
// one: what a reader of a payment's proof looks at first.
func dataAmount(data []byte) (string, error) {
	var d map[string]jsontext.Value
	if err := jsonv2.Unmarshal(data, &d, strict); err != nil {
		return "", err
	}
	a, ok := d["amount"]
	if !ok {
		return "", nil
	}
	var amount string
	if err := jsonv2.Unmarshal(a, &amount, strict); err != nil {
		return "", fmt.Errorf("amount: %v", err)
	}
	return amount, nil
}

func verifyConsistency(p ConsistencyProof, v note.Verifier) (VerifiedProof, error) {
	o, err := OpenCheckpoint([]byte(p.OldCheckpoint), v)
	if err != nil {
		return VerifiedProof{}, invalid("old checkpoint: %v", err)
	}
	n, err := OpenCheckpoint([]byte(p.NewCheckpoint), v)
	if err != nil {
		return VerifiedProof{}, invalid("new checkpoint: %v", err)
	}
	if o.Origin != n.Origin {
		return VerifiedProof{}, invalid("the checkpoints are of two logs (%q and %q)", o.Origin, n.Origin)
	}
	if o.Size != p.OldSize || n.Size != p.NewSize {
		return VerifiedProof{}, invalid("old_size %d and new_size %d are not the checkpoints' %d and %d", p.OldSize, p.NewSize, o.Size, n.Size)
	}
	path, err := decodeHashes(p.Consistency)
	if err != nil {
		return VerifiedProof{}, invalid("%v", err)
	}
	if err := tlog.CheckTree(path, n.Size, n.Root, o.Size, o.Root); err != nil {
		return VerifiedProof{}, invalid("the old tree is not a prefix of the new one: %v", err)
	}
	return VerifiedProof{Kind: "consistency", Origin: n.Origin, TreeSize: n.Size, OldSize: o.Size, Checkpoint: n,
		Notes: [][]byte{[]byte(p.OldCheckpoint), []byte(p.NewCheckpoint)}}, nil
}

// ProveInLatest proves an event is in the last checkpoint signed, as
// `ledger prove --event` writes the proof: what the console offers for
// download.
func (t *Tree) ProveInLatest(ctx context.Context, store eventstore.Store, id uuid.UUID) ([]byte, error) {
	st, ok, err := t.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("notary: no checkpoint signed yet")
	}
	proof, err := t.ProveEvent(ctx, store, id, []byte(st.Note))
	if err != nil {
		return nil, err
	}
	return MarshalProof(proof)
}
