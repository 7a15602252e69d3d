package domain

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/go-json-experiment/json/jsontext"
)

// A command's digest is stored with the events it recorded (outside their
// hash): a command id sent again is a retry when the command is the same,
// and a reuse (command_id_reused) when it is another. The digest is of the
// command as it travels — the wire form — so that no refactoring of the
// Go types that decode it can change it.
//
// Format 2 (from 2026-12): one version byte, 2, then SHA-256 of
// "cptsledger/command/v2\n" followed by the line in canonical form: the
// JSON object with every object's members sorted (RFC 8785 order),
// insignificant whitespace removed and strings escaped minimally. Numbers
// keep their literal text ("1.0" is not "1": the canonicalisation of RFC
// 8785 would round amounts through a float). Key order, spacing and
// escapes of the line sent do not count.
//
// Format 1 (before): SHA-256 of the decoded command's Go type name and its
// json.Marshal, 32 bytes. Events recorded then keep that digest; a retry
// of their command is still told from a reuse by recomputing it, with the
// type names of that time frozen in legacyTypeNames (a renamed type keeps
// its old digest). json.Marshal of the decoded types must keep encoding
// what it encoded then: the golden test of the examples' digests
// (TestCommandDigestsPinned) fails when it does not.
const (
	digestV2     = 2
	digestV2Size = 1 + sha256.Size
	digestV2Tag  = "cptsledger/command/v2\n"
)

// CommandPrint recognises a command again: the digest to store with its
// events, and the means to compare it with a digest stored earlier in
// either format.
type CommandPrint struct {
	digest []byte
	// legacy is format 1 of the decoded command, computed only when a
	// stored digest is of that format: from cmd, or, for a correction
	// (whose target the command path adds to it), at once.
	legacy []byte
	cmd    Command
}

// NewCommandPrint is the print of the command line sent and of its decoded
// form cmd (nil when it did not decode). Call it before anything is added
// to cmd (a correction's target, the reference facts).
func NewCommandPrint(line []byte, cmd Command) (CommandPrint, error) {
	d, err := WireDigest(line)
	if err != nil {
		return CommandPrint{}, err
	}
	p := CommandPrint{digest: d}
	if _, ok := cmd.(Correction); ok {
		p.legacy = legacyDigest(cmd)
	} else if cmd != nil {
		p.cmd = cmd
	}
	return p, nil
}

// Digest is what is stored with the command's events.
func (p CommandPrint) Digest() []byte { return p.digest }

// Format1 is the format-1 digest of the decoded command, or nil for a
// command type born after it: for the golden test that pins it, and for
// who audits the digests of old events.
func (p CommandPrint) Format1() []byte {
	if p.legacy != nil || p.cmd == nil {
		return p.legacy
	}
	return legacyDigest(p.cmd)
}

// Same reports whether stored, the digest recorded with a command's
// events, is this command's. An event recorded before digests (none
// stored) cannot tell: it counts as the same, as it always did.
func (p CommandPrint) Same(stored []byte) bool {
	switch len(stored) {
	case 0:
		return true
	case sha256.Size:
		legacy := p.Format1()
		return legacy != nil && bytes.Equal(stored, legacy)
	}
	return bytes.Equal(stored, p.digest)
}

// WireDigest is the format-2 digest of a command line (see above).
func WireDigest(line []byte) ([]byte, error) {
	v := jsontext.Value(slices.Clone(line))
	err := v.Format(jsontext.ReorderRawObjects(true), jsontext.CanonicalizeRawInts(false),
		jsontext.CanonicalizeRawFloats(false), jsontext.EscapeForHTML(false), jsontext.EscapeForJS(false),
		jsontext.PreserveRawStrings(false), jsontext.Multiline(false), jsontext.AllowDuplicateNames(false))
	if err != nil {
		return nil, fmt.Errorf("digest of the command: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(digestV2Tag))
	h.Write(v)
	return append([]byte{digestV2}, h.Sum(nil)...), nil
}

// legacyTypeNames are the Go type names format 1 hashed, by command type,
// frozen as they were when format 2 replaced it.
var legacyTypeNames = map[string]string{
	CmdDecideDuePayments:       "domain.DecideDuePayments",
	CmdTerminateContract:       "domain.TerminateContract",
	CmdCorrectTermination:      "*domain.CorrectTermination",
	"SignContract":             "cpts.SignContract",
	"StartMission":             "cpts.StartMission",
	"DeployMission":            "cpts.DeployMission",
	"ReportIndicators":         "cpts.ReportIndicators",
	"CorrectReport":            "*cpts.CorrectReport",
	"CorrectMissionDate":       "*cpts.CorrectMissionDate",
	"CorrectContractTerms":     "*cpts.CorrectContractTerms",
	"PublishRulebookAmendment": "cpts.PublishRulebookAmendment",
	"RecogniseCrisis":          "cpts.RecogniseCrisis",
	"CorrectCrisisRecognition": "cpts.CorrectCrisisRecognition",
	"SignAidContract":          "assistant.SignAidContract",
	"HireAssistant":            "assistant.HireAssistant",
	"ReportPatientele":         "assistant.ReportPatientele",
	"CorrectPatientele":        "*assistant.CorrectPatientele",
	"CorrectHiring":            "*assistant.CorrectHiring",
}

// legacyDigest is format 1 of a decoded command, or nil for a command
// type born after it (no event of it holds a format-1 digest).
func legacyDigest(cmd Command) []byte {
	name, ok := legacyTypeNames[cmd.CommandType()]
	if !ok {
		return nil
	}
	body, err := json.Marshal(cmd)
	if err != nil {
		return nil
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", name)
	h.Write(body)
	return h.Sum(nil)
}
