package app_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
)

var updateDigests = flag.Bool("update-digests", false, "write testdata/command-digests.golden from the current code (only for a new example: a changed digest is a broken promise)")

// digestSources are the command files whose digests are pinned, with at
// most how many lines of each command type (0: every line): the examples,
// the worked lifecycles of both schemes, and the corrections (1 881 lines:
// the first five of each type), and the corrections that the relay's
// tests send (every correction type is pinned).
var digestSources = []struct {
	file    string
	perType int
}{
	{"../examples/t2-contract.jsonl", 0},
	{"../examples/aid-contract.jsonl", 0},
	{"../domain/cpts/testdata/aci-lifecycles.jsonl", 0},
	{"../domain/cpts/testdata/aci-corrections.jsonl", 5},
	{"../domain/cpts/testdata/crisis-cpts.jsonl", 0},
	{"../domain/assistant/testdata/aid-lifecycles.jsonl", 0},
	{"../relay/testdata/corrections-cpts.jsonl", 0},
	{"../relay/testdata/corrections-aid.jsonl", 0},
}

var exampleRef = regexp.MustCompile(`"@([^"]+)"`)

// decodeLine decodes a command line as the command path does: the
// reference decoder for the reference commands, else the scheme that
// owns the type (either for the shared types: they decode alike).
func decodeLine(t *testing.T, line []byte) domain.Command {
	t.Helper()
	h, err := domain.PeekHeader(line)
	if err != nil {
		t.Fatal(err)
	}
	schemes := app.DefaultSchemes()
	if slices.Contains(cpts.ReferenceCommands(), h.Type) {
		cmd, err := cpts.DecodeReferenceCommand(line, domain.CalendarOf(schemes))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return cmd
	}
	for _, s := range schemes {
		if slices.Contains(s.Commands(), h.Type) || slices.Contains(domain.SharedCommands(), h.Type) {
			cmd, err := s.DecodeCommand(line)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return cmd
		}
	}
	t.Fatalf("no scheme decodes %s", h.Type)
	return nil
}

// Every example's digest is pinned, in both formats: the wire digest
// (format 2, what is stored now) and the digest of the decoded command
// that events recorded before it hold (format 1). Nothing is renamed for
// this test to pass: a change of a Go type's name or of a field that the
// wire does not carry leaves format 2 as it is; format 1 depends on the
// decoded types' JSON encoding, and this test is what keeps it.
func TestCommandDigestsPinned(t *testing.T) {
	var got strings.Builder
	for _, src := range digestSources {
		raw, err := os.ReadFile(src.file)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for n, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
			h, _ := domain.PeekHeader(line)
			if seen[h.Type]++; src.perType > 0 && seen[h.Type] > src.perType {
				continue
			}
			// A correction names its target as "@<command id>": a fixed
			// UUID stands for it here.
			line = exampleRef.ReplaceAllFunc(line, func(m []byte) []byte {
				return []byte(`"` + uuid.NewSHA1(uuid.NameSpaceOID, m).String() + `"`)
			})
			cmd := decodeLine(t, line)
			p, err := domain.NewCommandPrint(line, cmd)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&got, "%s:%d %s %s %x %x\n", filepath.Base(src.file), n+1, h.Type, h.CommandID, p.Digest(), p.Format1())
		}
	}
	golden := filepath.Join("testdata", "command-digests.golden")
	if *updateDigests {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	gotLines, wantLines := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gotLines), len(wantLines)) {
		if i >= len(gotLines) || i >= len(wantLines) || gotLines[i] != wantLines[i] {
			t.Fatalf("digest line %d changed (events stored with the old one would answer command_id_reused to a retry):\n got  %q\n want %q", i+1, at(gotLines, i), at(wantLines, i))
		}
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

// The wire digest is of the command as sent: key order, spacing and
// escapes do not count; any value does, a number's literal included; the
// format is versioned.
func TestWireDigestIsOfTheWireCommand(t *testing.T) {
	base := `{"type":"StartMission","command_id":"c1","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80","mission":"access","started_on":"2020-03-01"}`
	d, err := domain.WireDigest([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 33 || d[0] != 2 {
		t.Fatalf("digest %x: want a version byte 2 and SHA-256", d)
	}
	for _, same := range []string{
		`{ "started_on" : "2020-03-01", "mission":"access", "contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80", "command_id":"c1", "type":"StartMission" }`,
		`{"type":"StartMission","command_id":"c\u0031","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80","mission":"access","started_on":"2020-03-01"}` + "\n",
	} {
		if got, _ := domain.WireDigest([]byte(same)); !bytes.Equal(got, d) {
			t.Errorf("%s: another digest than the same command's", same)
		}
	}
	for _, other := range []string{
		strings.Replace(base, "2020-03-01", "2020-03-02", 1),
		strings.Replace(base, `"c1"`, `"c2"`, 1),
		strings.Replace(base, `}`, `,"x":1}`, 1),
	} {
		if got, _ := domain.WireDigest([]byte(other)); bytes.Equal(got, d) {
			t.Errorf("%s: the digest of another command", other)
		}
	}
	one, _ := domain.WireDigest([]byte(`{"amount":1.0}`))
	onePointOh, _ := domain.WireDigest([]byte(`{"amount":1.00}`))
	if bytes.Equal(one, onePointOh) {
		t.Errorf("1.0 and 1.00 share a digest: numbers must keep their literal")
	}
}

// A ledger written by the last commit of format-1 digests
// (testdata/format1-digests, its file byte for byte) still tells a retry
// of each of its commands (a duplicate) from another command under the
// same id (command_id_reused), contracts and reference streams alike.
func TestFormat1DigestsStillTellARetryFromAReuse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	raw, err := os.ReadFile("testdata/format1-digests/events.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, path)
	ctx := context.Background()
	envs, err := s.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range envs {
		if len(env.CommandDigest) != 32 {
			t.Fatalf("event %d of the fixture holds no format-1 digest: %x", env.Position, env.CommandDigest)
		}
	}
	head, _ := s.Head(ctx)
	l := app.New(s, app.Options{Actor: "t"})
	var sent int
	for _, file := range []string{"../examples/t2-contract.jsonl", "../examples/aid-contract.jsonl", "testdata/format1-digests/reference.jsonl"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
			sent++
			if res, err := l.Submit(ctx, line); err != nil || !res.OK || !res.Duplicate {
				t.Fatalf("%s sent again: %+v %v", line, res, err)
			}
		}
	}
	// Other commands under ids recorded with format-1 digests.
	for _, c := range []struct{ line, recorded string }{
		{`{"type":"StartMission","command_id":"t2-start-access","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80","mission":"access","started_on":"2020-03-02"}`, "MissionStarted"},
		{`{"type":"HireAssistant","command_id":"aid-hire","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e90","hired_on":"2021-03-21"}`, "AssistantHired"},
		{`{"type":"RecogniseCrisis","command_id":"format1-crisis","ars":"ARS Centre-Val de Loire","from":"2026-11-02","to":"2027-03-31","recognised_on":"2026-12-07","reason":"épidémies hivernales"}`, "CrisisRecognised"},
	} {
		res, err := l.Submit(ctx, []byte(c.line))
		if err != nil || res.OK || res.Error == nil || res.Error.Code != domain.CodeCommandIDReused || !strings.Contains(res.Error.Message, c.recorded) {
			t.Fatalf("%s: %+v %v", c.line, res, err)
		}
	}
	if after, _ := s.Head(ctx); after != head || sent != 19 {
		t.Fatalf("head %d after, %d before; %d commands sent again", after, head, sent)
	}
}
