package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/eventstore"
)

// ledgerRun runs the command in-process and returns its exit status and
// output.
func ledgerRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

func mustLedger(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errb := ledgerRun(t, args...)
	if code != 0 {
		t.Fatalf("ledger %s: exit %d\n%s", strings.Join(args, " "), code, errb)
	}
	return out
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	// A data directory is private (internal/private): 0700 and 0600,
	// whatever the umask of the test process (an in-process run sets 077,
	// a test run alone keeps the shell's).
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(to, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		in, err := os.Open(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(filepath.Join(to, e.Name()), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(out, in)
		in.Close()
		out.Close()
	}
}

// insider opens events.db as an insider would, with any SQL client.
func insider(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rechain recomputes a stream's hash chain with the documented encoding,
// as the insider's 40-line script does, so that `verify` without
// checkpoints says ok.
func rechain(t *testing.T, db *sql.DB, stream string) {
	t.Helper()
	rows, err := db.Query(`SELECT position, event_id, revision, type, schema_version, occurred_on, recorded_at, actor, command_id,
		correlation_id, causation_id, data FROM events WHERE stream = ? ORDER BY revision`, stream)
	if err != nil {
		t.Fatal(err)
	}
	var envs []eventstore.Envelope
	for rows.Next() {
		var e eventstore.Envelope
		var id []byte
		var rec int64
		if err := rows.Scan(&e.Position, &id, &e.Revision, &e.Type, &e.SchemaVersion, &e.OccurredOn, &rec, &e.Actor, &e.CommandID,
			&e.CorrelationID, &e.CausationID, &e.Data); err != nil {
			t.Fatal(err)
		}
		copy(e.EventID[:], id)
		e.Stream, e.RecordedAt = stream, time.UnixMicro(rec).UTC()
		envs = append(envs, e)
	}
	rows.Close()
	var prev eventstore.Hash
	for i := range envs {
		envs[i].Revision = uint64(i)
		envs[i].PrevHash = prev
		envs[i].Hash = eventstore.ComputeHash(prev, &envs[i])
		if _, err := db.Exec(`UPDATE events SET revision = ?, prev_hash = ?, hash = ? WHERE position = ?`,
			i, envs[i].PrevHash[:], envs[i].Hash[:], envs[i].Position); err != nil {
			t.Fatal(err)
		}
		prev = envs[i].Hash
	}
}

const t2Stream = "cpts-0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"

// Every rewrite an insider with write access to events.db can make, chains
// recomputed where that applies, passes `ledger verify` and is caught by
// `ledger verify --checkpoint`, with and without the read models and the
// follower's tree; an untouched log verifies against every checkpoint
// signed while it grew.
func TestInsiderRewritesAreCaught(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "good")
	key, pub := filepath.Join(base, "signer.key"), filepath.Join(base, "verifier.pub")
	if err := os.WriteFile(pub, []byte(mustLedger(t, "keygen", "--name", "audit-test", "--out", key)), 0o644); err != nil {
		t.Fatal(err)
	}
	var cps []string
	sign := func() {
		f := filepath.Join(base, "cp"+string(rune('0'+len(cps))))
		if err := os.WriteFile(f, []byte(mustLedger(t, "--data", good, "checkpoint", "--signing-key", key)), 0o644); err != nil {
			t.Fatal(err)
		}
		cps = append(cps, f)
	}
	mustLedger(t, "--data", good, "submit", "--file", "../../examples/t2-contract.jsonl")
	sign()
	mustLedger(t, "--data", good, "submit", "--file", "../../examples/aid-contract.jsonl")
	sign()
	mustLedger(t, "--data", good, "submit", "--file", lifecyclesSignedBefore2022(t))
	sign()
	verifyArgs := func(dir string) []string {
		args := []string{"--data", dir, "verify", "--verifier-key", pub}
		for _, c := range cps {
			args = append(args, "--checkpoint", c)
		}
		return args
	}
	if out := mustLedger(t, verifyArgs(good)...); !strings.Contains(out, "3 signed checkpoints match the log as stored") {
		t.Fatalf("untouched log: %s", out)
	}

	var aidStream string
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, db *sql.DB)
		want   string // in the failure
	}{
		{"amount_raised_and_chain_recomputed", func(t *testing.T, db *sql.DB) {
			res, err := db.Exec(`UPDATE events SET data = CAST(replace(CAST(data AS TEXT), '"amount":"60000.00"', '"amount":"160000.00"') AS BLOB)
				WHERE stream = ? AND type = 'PaymentDecided' AND CAST(data AS TEXT) LIKE '%"kind":"signature"%'`, t2Stream)
			if n, _ := res.RowsAffected(); err != nil || n != 1 {
				t.Fatalf("tamper: %v (%d rows)", err, n)
			}
			rechain(t, db, t2Stream)
		}, "first event that differs: leaf 4, now event b1f3afeb-3333-5d57-a818-406821badb68"},
		{"stream_last_event_deleted", func(t *testing.T, db *sql.DB) {
			if _, err := db.Exec(`DELETE FROM events WHERE stream = ? AND revision = (SELECT MAX(revision) FROM events WHERE stream = ?)`, t2Stream, t2Stream); err != nil {
				t.Fatal(err)
			}
		}, "first event that differs: leaf 18"},
		{"whole_stream_deleted", func(t *testing.T, db *sql.DB) {
			db.QueryRow(`SELECT stream FROM events WHERE stream LIKE 'assistant-%' LIMIT 1`).Scan(&aidStream)
			if _, err := db.Exec(`DELETE FROM events WHERE stream = ?`, aidStream); err != nil {
				t.Fatal(err)
			}
		}, "first event that differs: leaf 19"},
		{"events_of_two_streams_swapped", func(t *testing.T, db *sql.DB) {
			// Positions 19 (t2's last) and 20 (the aid contract's first) trade places.
			for _, q := range []string{`UPDATE events SET position = -1 WHERE position = 19`, `UPDATE events SET position = 19 WHERE position = 20`,
				`UPDATE events SET position = 20 WHERE position = -1`} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
		}, "first event that differs: leaf 18"},
		{"log_end_deleted", func(t *testing.T, db *sql.DB) {
			if _, err := db.Exec(`DELETE FROM events WHERE position > (SELECT MAX(position) - 5 FROM events)`); err != nil {
				t.Fatal(err)
			}
		}, "events were removed after it was signed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, tc.name)
			copyDir(t, good, dir)
			tc.tamper(t, insider(t, dir))
			if code, out, errb := ledgerRun(t, "--data", dir, "verify"); code != 0 {
				t.Fatalf("plain verify should not see this rewrite (that is the point): exit %d %s %s", code, out, errb)
			}
			code, _, errb := ledgerRun(t, verifyArgs(dir)...)
			if code != 1 || !strings.Contains(errb, "FAILED: checkpoint") || !strings.Contains(errb, tc.want) {
				t.Fatalf("verify --checkpoint: exit %d\n%s\nwant %q", code, errb, tc.want)
			}
			// The verdict does not rest on the read models or the tree.
			for _, f := range []string{"projections.db", "notary.db", "notary.leaves", "notary.hashes"} {
				os.Remove(filepath.Join(dir, f))
			}
			code, _, errb = ledgerRun(t, verifyArgs(dir)...)
			if code != 1 || !strings.Contains(errb, "FAILED: checkpoint") {
				t.Fatalf("verify --checkpoint without the read models and the tree: exit %d\n%s", code, errb)
			}
		})
	}

	t.Run("checkpoint_signed_by_another_key", func(t *testing.T) {
		otherKey, otherPub := filepath.Join(base, "other.key"), filepath.Join(base, "other.pub")
		if err := os.WriteFile(otherPub, []byte(mustLedger(t, "keygen", "--name", "audit-test", "--out", otherKey)), 0o644); err != nil {
			t.Fatal(err)
		}
		forged := filepath.Join(base, "forged")
		if err := os.WriteFile(forged, []byte(mustLedger(t, "--data", good, "checkpoint", "--signing-key", otherKey)), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errb := ledgerRun(t, "--data", good, "verify", "--checkpoint", forged, "--verifier-key", pub)
		if code != 1 || !strings.Contains(errb, "FAILED: checkpoint "+forged) {
			t.Fatalf("a checkpoint signed by another key: exit %d\n%s", code, errb)
		}
	})

	t.Run("every_proof_verifies_and_an_edited_one_fails", func(t *testing.T) {
		var audit []struct {
			EventID uuid.UUID `json:"event_id"`
		}
		if err := json.Unmarshal([]byte(mustLedger(t, "--data", good, "--json", "audit", "--contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80")), &audit); err != nil {
			t.Fatal(err)
		}
		for _, ev := range audit {
			proof := filepath.Join(base, "proof.json")
			os.WriteFile(proof, []byte(mustLedger(t, "--data", good, "prove", "--event", ev.EventID.String(), "--checkpoint", cps[2])), 0o644)
			mustLedger(t, "verify-proof", "--proof", proof, "--verifier-key", pub)
		}
		for i := range cps {
			for j := i; j < len(cps); j++ {
				proof := filepath.Join(base, "consistency.json")
				os.WriteFile(proof, []byte(mustLedger(t, "--data", good, "prove", "--from", cps[i], "--to", cps[j])), 0o644)
				mustLedger(t, "verify-proof", "--proof", proof, "--verifier-key", pub)
			}
		}
		proof := filepath.Join(base, "edited.json")
		raw := mustLedger(t, "--data", good, "prove", "--event", audit[4].EventID.String(), "--checkpoint", cps[0])
		os.WriteFile(proof, []byte(strings.Replace(raw, `"amount":"60000.00"`, `"amount":"160000.00"`, 1)), 0o644)
		if code, _, errb := ledgerRun(t, "verify-proof", "--proof", proof, "--verifier-key", pub); code != 1 || !strings.Contains(errb, "INVALID") {
			t.Fatalf("an edited proof: exit %d %s", code, errb)
		}
		// The red team's forgery: the genuine data kept under "DATA", which
		// a case-folding decoder hashed, and "data" raised for the reader.
		d := dataOf(t, raw)
		forged := strings.Replace(raw, `"data":`+d, `"DATA":`+d+`,"data":`+strings.Replace(d, `"60000.00"`, `"160000.00"`, 1), 1)
		os.WriteFile(proof, []byte(forged), 0o644)
		if !strings.Contains(forged, `"DATA":`) || !strings.Contains(forged, `"160000.00"`) {
			t.Fatalf("the forgery was not built:\n%s", forged)
		}
		if code, out, errb := ledgerRun(t, "verify-proof", "--proof", proof, "--verifier-key", pub); code != 1 || !strings.Contains(errb, "INVALID") {
			t.Fatalf("a proof with a second member DATA: exit %d %s %s", code, out, errb)
		}
		// What a valid proof vouches for is printed.
		proof = filepath.Join(base, "genuine.json")
		os.WriteFile(proof, []byte(raw), 0o644)
		out := mustLedger(t, "verify-proof", "--proof", proof, "--verifier-key", pub)
		for _, want := range []string{"PaymentDecided", "60000.00", audit[4].EventID.String(), "business date", "checked:"} {
			if !strings.Contains(out, want) {
				t.Fatalf("verify-proof does not say %q:\n%s", want, out)
			}
		}
	})
}

// dataOf returns the "data" member of a proof's event, verbatim.
func dataOf(t *testing.T, proof string) string {
	t.Helper()
	var p struct {
		Event struct {
			Data json.RawMessage `json:"data"`
		} `json:"event"`
	}
	if err := json.Unmarshal([]byte(proof), &p); err != nil {
		t.Fatal(err)
	}
	return string(p.Event.Data)
}

// lifecyclesSignedBefore2022 writes the worked lifecycles of the contracts
// signed before 2022-04-01 to a file and returns its path: the others were
// computed under the 2019 rulebook alone (cpts.ExamplesRules), and the
// ledger signs them under aci-2022, which wants the crisis mission.
func lifecyclesSignedBefore2022(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../domain/cpts/testdata/aci-lifecycles.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	var out []byte
	for _, line := range bytes.Split(raw, []byte("\n")) {
		var head struct {
			Type       string `json:"type"`
			ContractID string `json:"contract_id"`
			SignedOn   string `json:"signed_on"`
		}
		if json.Unmarshal(line, &head) != nil {
			continue
		}
		if head.Type == "SignContract" {
			keep[head.ContractID] = head.SignedOn < "2022-04-01"
		}
		if keep[head.ContractID] {
			out = append(append(out, line...), '\n')
		}
	}
	path := filepath.Join(t.TempDir(), "lifecycles-before-2022.jsonl")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The red team's third finding: an insider who can write the data
// directory but not read the key rewrites a payment and recomputes its
// stream's chain. `ledger rebuild` exits 1 and leaves the kept tree as it
// was; `ledger checkpoint` then signs only the genuine tree; with the
// notary's files deleted too, the tree built again from the rewritten log
// is refused by the signer (exit 1, both sizes and roots named), since its
// memory of the last checkpoint lives beside the key.
func TestTheSignerRefusesAForkedLog(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "data")
	key := filepath.Join(base, "signer.key")
	mustLedger(t, "keygen", "--name", "fork-test", "--out", key)
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	signed := mustLedger(t, "--data", dir, "checkpoint", "--signing-key", key)
	if b, err := os.ReadFile(key + ".last-checkpoint"); err != nil || string(b) != signed {
		t.Fatalf("the signer's memory beside the key: %q %v", b, err)
	}
	raiseSignatureAndRechain(t, dir)

	hashes := filepath.Join(dir, "notary.hashes")
	before, _ := os.ReadFile(hashes)
	code, _, errb := ledgerRun(t, "--data", dir, "rebuild")
	if code != 1 || !strings.Contains(errb, "was NOT put in its place") {
		t.Fatalf("rebuild of a rewritten log: exit %d\n%s", code, errb)
	}
	if after, _ := os.ReadFile(hashes); !bytes.Equal(before, after) {
		t.Fatal("rebuild replaced the tree with the rewritten log's")
	}
	// The kept tree is the genuine one: signing it again signs the same root.
	if again := mustLedger(t, "--data", dir, "checkpoint", "--signing-key", key); strings.Split(again, "\n")[2] != strings.Split(signed, "\n")[2] {
		t.Fatalf("the kept tree signed with another root:\n%s\nwas\n%s", again, signed)
	}
	for _, f := range []string{"notary.db", "notary.leaves", "notary.hashes"} {
		os.Remove(filepath.Join(dir, f))
	}
	code, out, errb := ledgerRun(t, "--data", dir, "checkpoint", "--signing-key", key)
	size, root := strings.Split(signed, "\n")[1], strings.Split(signed, "\n")[2]
	if code != 1 || out != "" || !strings.Contains(errb, "refusing to sign") || !strings.Contains(errb, "last signed "+size+" events with root "+root) ||
		!strings.Contains(errb, "the tree to sign has "+size+" events with root ") {
		t.Fatalf("signing the rewritten log's tree: exit %d\n%s%s", code, out, errb)
	}
	if k, _ := os.ReadFile(key); strings.Contains(errb, strings.TrimSpace(string(k))) {
		t.Fatal("the refusal printed the key")
	}
}

// raiseSignatureAndRechain is the insider's rewrite: the T2 contract's
// signature payment raised from 60 000 to 160 000 in events.db, its
// stream's chain recomputed.
func raiseSignatureAndRechain(t *testing.T, dir string) {
	t.Helper()
	db := insider(t, dir)
	defer db.Close()
	if _, err := db.Exec(`UPDATE events SET data = CAST(replace(CAST(data AS TEXT), '"amount":"60000.00"', '"amount":"160000.00"') AS BLOB)
		WHERE stream = ? AND type = 'PaymentDecided' AND CAST(data AS TEXT) LIKE '%"kind":"signature"%'`, t2Stream); err != nil {
		t.Fatal(err)
	}
	rechain(t, db, t2Stream)
}
