package notary

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/internal/atomicfile"
)

// Witnesses, as transparency logs have them (the C2SP tlog-witness model,
// with note cosignatures as the Go checksum database's witnesses add
// them). A witness is a process apart, with its own key and its own
// memory of the last checkpoint it cosigned for the log. It cosigns a new
// checkpoint only when the log's key signed it and a consistency proof
// shows the checkpoint it cosigned last a prefix of it. A log that shows
// two auditors two histories must then fork every witness too: an auditor
// who requires k cosignatures out of n independent witnesses is safe
// unless k of them collude.
//
// The protocol: POST /add-checkpoint, body
//
//	old <size of the checkpoint the client believes the witness cosigned last>
//	<consistency proof from that size: one base64 hash a line>
//	<blank line>
//	<the signed checkpoint>
//
// answered 200 with the checkpoint carrying the witness's cosignature (and
// the log's signature); 409 with the witness's size ("<size>\n") when old
// is not it — the client sends again with a proof from that size; 422
// when the proof does not show consistency (a fork: refused); 403 when
// the log's key did not sign it; 400 for a malformed body.

// MaxAddCheckpoint bounds an add-checkpoint request's body.
const MaxAddCheckpoint = 64 << 10

// Witness cosigns the checkpoints of one log.
type Witness struct {
	signer note.Signer
	log    note.Verifier
	memory string // the last checkpoint cosigned (the note)

	mu sync.Mutex
}

// NewWitness returns the witness with key signer for the log whose key is
// log, remembering its last cosigned checkpoint in the file memory.
func NewWitness(signer note.Signer, log note.Verifier, memory string) *Witness {
	return &Witness{signer: signer, log: log, memory: memory}
}

// WitnessError is a refusal, with the HTTP status that says it.
type WitnessError struct {
	Status int
	Size   int64 // the witness's size, for 409
	Msg    string
}

func (e *WitnessError) Error() string { return fmt.Sprintf("witness: %s (HTTP %d)", e.Msg, e.Status) }

func refuse(status int, format string, args ...any) *WitnessError {
	return &WitnessError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// last returns the checkpoint the witness cosigned last (false: none yet).
func (w *Witness) last() (Checkpoint, bool, error) {
	b, err := os.ReadFile(w.memory)
	if errors.Is(err, fs.ErrNotExist) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, err
	}
	c, err := ReadNote(b)
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("witness: its memory %s is not a checkpoint: %v", w.memory, err)
	}
	return c, true, nil
}

// parseAddCheckpoint reads a request body: old size, proof, checkpoint.
func parseAddCheckpoint(body []byte) (old int64, proof tlog.TreeProof, msg []byte, err error) {
	head, msg, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, errors.New("no blank line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	sizeText, found := strings.CutPrefix(lines[0], "old ")
	if !found {
		return 0, nil, nil, errors.New(`the first line is not "old <size>"`)
	}
	if old, err = strconv.ParseInt(sizeText, 10, 64); err != nil || old < 0 || strconv.FormatInt(old, 10) != sizeText {
		return 0, nil, nil, fmt.Errorf("old size %q is not a decimal number", sizeText)
	}
	if len(lines) > 64 {
		return 0, nil, nil, errors.New("a consistency proof has at most 63 hashes")
	}
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != tlog.HashSize {
			return 0, nil, nil, fmt.Errorf("proof line %q is not a hash in standard base64", l)
		}
		proof = append(proof, tlog.Hash(h))
	}
	return old, proof, msg, nil
}

// AddCheckpoint checks and cosigns a request's checkpoint, and returns it
// with the cosignature; a refusal is a *WitnessError.
func (w *Witness) AddCheckpoint(body []byte) ([]byte, error) {
	old, proof, msg, err := parseAddCheckpoint(body)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(w.log))
	if err != nil {
		return nil, refuse(http.StatusForbidden, "the checkpoint is not signed by the log's key %s", w.log.Name())
	}
	next, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	last, ok, err := w.last()
	if err != nil {
		return nil, err
	}
	switch {
	case !ok && old != 0, ok && old != last.Size:
		e := refuse(http.StatusConflict, "old size %d is not the witness's %d", old, last.Size)
		e.Size = last.Size
		return nil, e
	case ok && last.Origin != next.Origin:
		return nil, refuse(http.StatusUnprocessableEntity, "the witness cosigns the log %s, not %s", last.Origin, next.Origin)
	case next.Size < old:
		return nil, refuse(http.StatusBadRequest, "the checkpoint's %d events are fewer than the old size %d", next.Size, old)
	}
	if ok {
		if err := tlog.CheckTree(proof, next.Size, next.Root, last.Size, last.Root); err != nil {
			return nil, refuse(http.StatusUnprocessableEntity, "refusing a fork: the checkpoint of %d events (root %s) is not consistent with the %d events (root %s) it cosigned last",
				next.Size, base64.StdEncoding.EncodeToString(next.Root[:]), last.Size, base64.StdEncoding.EncodeToString(last.Root[:]))
		}
	}
	cosigned, err := note.Sign(n, w.signer)
	if err != nil {
		return nil, err
	}
	if !ok || next.Size > last.Size {
		if err := atomicfile.Write(w.memory, cosigned); err != nil {
			return nil, err
		}
	}
	return cosigned, nil
}

// Handler serves POST /add-checkpoint.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxAddCheckpoint))
		if err != nil {
			http.Error(rw, "a request of at most 64 KiB", http.StatusRequestEntityTooLarge)
			return
		}
		out, err := w.AddCheckpoint(body)
		var we *WitnessError
		switch {
		case errors.As(err, &we) && we.Status == http.StatusConflict:
			rw.Header().Set("Content-Type", "text/x.tlog.size")
			rw.WriteHeader(http.StatusConflict)
			fmt.Fprintf(rw, "%d\n", we.Size)
		case errors.As(err, &we):
			http.Error(rw, we.Msg, we.Status)
		case err != nil:
			http.Error(rw, "the witness failed: "+err.Error(), http.StatusInternalServerError)
		default:
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rw.Write(out)
		}
	})
	return mux
}

// Cosign asks the witness at url to cosign msg, a checkpoint of tree
// signed by the log's key, proving consistency from whatever size the
// witness says it has; it returns msg with the witness's cosignature
// added. A refusal is a *WitnessError.
func (t *Tree) Cosign(ctx context.Context, client *http.Client, url string, msg []byte) ([]byte, error) {
	c, err := ReadNote(msg)
	if err != nil {
		return nil, err
	}
	old := int64(0)
	for attempt := 0; attempt < 2; attempt++ {
		var body bytes.Buffer
		fmt.Fprintf(&body, "old %d\n", old)
		if old > 0 {
			proof, err := tlog.ProveTree(c.Size, old, t)
			if err != nil {
				return nil, fmt.Errorf("notary: a consistency proof from %d to %d events for the witness: %w", old, c.Size, err)
			}
			for _, h := range proof {
				body.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
			}
		}
		body.WriteString("\n")
		body.Write(msg)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(url, "/")+"/add-checkpoint", &body)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("notary: witness %s: %w", url, err)
		}
		out, err := io.ReadAll(io.LimitReader(resp.Body, MaxAddCheckpoint))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			return mergeCosignatures(msg, out)
		case http.StatusConflict:
			size, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
			if err != nil || size < 0 || size > c.Size {
				return nil, &WitnessError{Status: resp.StatusCode, Msg: fmt.Sprintf("witness %s has cosigned %q events, which this tree of %d cannot prove consistent with", url, strings.TrimSpace(string(out)), c.Size)}
			}
			old = size
		default:
			return nil, &WitnessError{Status: resp.StatusCode, Msg: fmt.Sprintf("witness %s refused: %s", url, strings.TrimSpace(string(out)))}
		}
	}
	return nil, &WitnessError{Status: http.StatusConflict, Msg: fmt.Sprintf("witness %s: its size changed while it was asked", url)}
}

// mergeCosignatures returns msg with the signatures of cosigned (the same
// checkpoint) that msg lacks.
func mergeCosignatures(msg, cosigned []byte) ([]byte, error) {
	a, err := splitNote(msg)
	if err != nil {
		return nil, err
	}
	b, err := splitNote(cosigned)
	if err != nil {
		return nil, err
	}
	if a.text != b.text {
		return nil, errors.New("notary: the witness answered another checkpoint")
	}
	out := []byte(a.text + "\n")
	seen := map[string]bool{}
	for _, l := range append(a.sigs, b.sigs...) {
		if !seen[l] {
			seen[l] = true
			out = append(out, l+"\n"...)
		}
	}
	return out, nil
}

type splitMsg struct {
	text string
	sigs []string
}

// splitNote cuts a signed note into its text and its signature lines.
func splitNote(msg []byte) (splitMsg, error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 || !bytes.HasSuffix(msg, []byte("\n")) {
		return splitMsg{}, errors.New("notary: not a signed note")
	}
	var s splitMsg
	s.text = string(msg[:i+1])
	sc := bufio.NewScanner(bytes.NewReader(msg[i+2:]))
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "— ") {
			return splitMsg{}, errors.New("notary: a signature line that is not one")
		}
		s.sigs = append(s.sigs, sc.Text())
	}
	return s, sc.Err()
}

// WitnessPolicy is what an auditor requires of a checkpoint's
// cosignatures: at least Need of the witnesses whose keys are Keys.
type WitnessPolicy struct {
	Keys []note.Verifier
	Need int
}

// Check returns the names of the witnesses of the policy that cosigned
// msg, or an error when fewer than Need did (or a cosignature does not
// verify).
func (p WitnessPolicy) Check(msg []byte) ([]string, error) {
	if p.Need <= 0 {
		return nil, nil
	}
	n, err := note.Open(msg, note.VerifierList(p.Keys...))
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unverified):
		return nil, fmt.Errorf("cosigned by none of the %d witnesses given, %d required", len(p.Keys), p.Need)
	case err != nil:
		return nil, fmt.Errorf("a witness's cosignature does not verify: %v", err)
	}
	var names []string
	for _, s := range n.Sigs {
		names = append(names, s.Name)
	}
	if len(names) < p.Need {
		return names, fmt.Errorf("cosigned by %d of the %d witnesses given (%s), %d required", len(names), len(p.Keys), strings.Join(names, ", "), p.Need)
	}
	return names, nil
}

// witnessTimeout bounds one request to a witness.
const witnessTimeout = 10 * time.Second

// WitnessClient is the HTTP client that asks witnesses.
func WitnessClient() *http.Client { return &http.Client{Timeout: witnessTimeout} }

// AddCosignatures keeps cosigned, the checkpoint st with witnesses'
// cosignatures added, in place of its note.
func (t *Tree) AddCosignatures(ctx context.Context, st Stored, cosigned []byte) (Stored, error) {
	merged, err := mergeCosignatures([]byte(st.Note), cosigned)
	if err != nil {
		return st, err
	}
	if _, err := t.db.ExecContext(ctx, `UPDATE checkpoints SET note = ? WHERE id = ?`, string(merged), st.ID); err != nil {
		return st, err
	}
	st.Note = string(merged)
	return st, nil
}

// CosignAll has a checkpoint cosigned by each witness in turn (their URLs)
// and stores their cosignatures with it: the checkpoint as published.
func (t *Tree) CosignAll(ctx context.Context, st Stored, witnesses []string) (Stored, error) {
	client := WitnessClient()
	for _, url := range witnesses {
		cosigned, err := t.Cosign(ctx, client, url, []byte(st.Note))
		if err != nil {
			return st, err
		}
		if st, err = t.AddCosignatures(ctx, st, cosigned); err != nil {
			return st, err
		}
	}
	return st, nil
}
