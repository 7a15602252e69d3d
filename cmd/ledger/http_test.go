package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/testwait"
	"github.com/cptsledger/ledger/server"
)

const t2ID = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"

// get fetches url with a bearer token.
func get(t *testing.T, token, url string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

// The HTTP API answers, byte for byte, what the CLI prints with --json for
// the same query (and the same CSV for the export).
func TestHTTPMatchesCLI(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir)
	token := strings.TrimSpace(mustLedger(t, "--data", dir, "token", "create", "--name", "audrey", "--role", "auditor"))
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/aid-contract.jsonl")
	for _, c := range []struct {
		cli  []string
		path string
	}{
		{[]string{"--json", "contracts", "--q", "val de"}, "/api/v1/contracts?q=val+de"},
		{[]string{"--json", "contract", t2ID, "--as-of", "2021-06-30"}, "/api/v1/contracts/" + t2ID + "?as_of=2021-06-30"},
		{[]string{"--json", "payments", "--contract", t2ID}, "/api/v1/contracts/" + t2ID + "/payments"},
		{[]string{"--json", "payments", "--contract", t2ID, "--as-of", "2021-06-30"}, "/api/v1/contracts/" + t2ID + "/payments?as_of=2021-06-30"},
		{[]string{"--json", "balance", "--contract", t2ID}, "/api/v1/contracts/" + t2ID + "/balance"},
		{[]string{"--json", "audit", "--contract", t2ID}, "/api/v1/contracts/" + t2ID + "/audit"},
		{[]string{"--json", "alerts", "--as-of", "2020-06-01", "--within", "90"}, "/api/v1/alerts?as_of=2020-06-01&within=90"},
		{[]string{"--json", "schedule", "--as-of", "2021-01-01", "--within", "400"}, "/api/v1/schedule?as_of=2021-01-01&within=400"},
		{[]string{"--json", "totals", "--by", "cpam"}, "/api/v1/totals?by=cpam"},
		{[]string{"export", "payments", "--sep", ";", "--per", "payment"}, "/api/v1/exports/payments.csv?sep=%3B&per=payment"},
	} {
		want := mustLedger(t, append([]string{"--data", dir}, c.cli...)...)
		status, got := get(t, token, s.http+c.path)
		if status != http.StatusOK || string(got) != want {
			t.Errorf("GET %s: %d\n%s\nwant (ledger %s)\n%s", c.path, status, got, strings.Join(c.cli, " "), want)
		}
	}
}

// postOne submits one command over HTTP; ok is true only for a 200 whose
// result says ok.
func postOne(client *http.Client, url, token, command string) (ok bool, err error) {
	req, _ := http.NewRequest("POST", url+"/api/v1/commands", strings.NewReader(command))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return false, err
	}
	var r struct {
		OK    bool            `json:"ok"`
		Error json.RawMessage `json:"error"`
		Code  string          `json:"code"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return false, fmt.Errorf("a body that is not JSON: %q", body)
	}
	if r.OK && (r.Error != nil || r.Code != "" || res.StatusCode != 200) {
		return false, fmt.Errorf("ok and an error at once: %d %s", res.StatusCode, body)
	}
	return r.OK, nil
}

// signing returns the example's SignContract for a new contract n of
// client c.
func signing(t *testing.T, c, n int) (id, command string) {
	raw, err := os.ReadFile("../../examples/t2-contract.jsonl")
	if err != nil {
		t.Error(err)
		return "", ""
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	id = fmt.Sprintf("0190a0e2-7c4e-7b1a-%04x-%012x", c, n)
	command = strings.Replace(strings.Replace(first, t2ID, id, 1), `"t2-sign"`, fmt.Sprintf(`"http-%d-%d"`, c, n), 1)
	return id, command
}

// startServeProcess runs `ledger serve` as a process on dir and returns it
// with its HTTP API's URL, once it answers.
func startServeProcess(t *testing.T, bin, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "--data", dir, "serve", "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var url string
	testwait.Until(t, 30*time.Second, "serve's HTTP API", func() bool {
		raw, err := os.ReadFile(filepath.Join(dir, server.AddrFile))
		if err != nil {
			return false
		}
		url = strings.TrimSpace(string(raw))
		res, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	return cmd, url
}

// hammer has 8 clients sign contracts over HTTP until stop is closed or
// the server goes away; it returns the contracts whose signature was
// acknowledged ok, and any answer that was both ok and an error, or a
// rejection (none is expected).
func hammer(t *testing.T, url, token string, stop <-chan struct{}, acked chan<- int) ([]string, []error) {
	var mu sync.Mutex
	var ids []string
	var bad []error
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				id, cmd := signing(t, c, n)
				ok, err := postOne(client, url, token, cmd)
				if (err != nil && strings.Contains(err.Error(), "ok and an error")) || (err == nil && !ok) {
					mu.Lock()
					bad = append(bad, fmt.Errorf("%s: %v (ok %v)", id, err, ok))
					mu.Unlock()
					return
				}
				if err != nil {
					return // the server went away
				}
				if ok {
					mu.Lock()
					ids = append(ids, id)
					mu.Unlock()
					select {
					case acked <- 1:
					default:
					}
				}
			}
		}()
	}
	wg.Wait()
	return ids, bad
}

// storedSignatures opens the data directory's store and returns which of
// ids have a signature.
func missingSignatures(t *testing.T, dir string, ids []string) []string {
	t.Helper()
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var missing []string
	for _, id := range ids {
		evs, err := store.ReadStream(context.Background(), "cpts-"+id, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Type != "ContractSigned" || evs[0].Actor != "agnes" {
			missing = append(missing, id)
		}
	}
	return missing
}

// Commands acknowledged over HTTP are durable: 8 clients sign contracts on
// a serve process that is killed with SIGKILL (then, on a second run,
// stopped with SIGTERM, which lets in-flight commands finish); every
// contract whose signature was answered ok is in the store, recorded as
// the token's name, and no answer was both ok and an error.
func TestHTTPAcknowledgedCommandsAreDurable(t *testing.T) {
	bin := ledgerBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			ledger(t, bin, "--data", dir, "init")
			token := strings.TrimSpace(ledger(t, bin, "--data", dir, "token", "create", "--name", "agnes", "--role", "agent"))
			cmd, url := startServeProcess(t, bin, dir)
			stop := make(chan struct{})
			acked := make(chan int, 1)
			type outcome struct {
				ids []string
				bad []error
			}
			done := make(chan outcome, 1)
			go func() {
				ids, bad := hammer(t, url, token, stop, acked)
				done <- outcome{ids, bad}
			}()
			deadline := time.After(time.Minute)
			for range 50 { // let 50 acknowledgements through, then signal
				select {
				case <-acked:
				case o := <-done:
					t.Fatalf("the clients stopped before 50 acknowledgements: %v", o.bad)
				case <-deadline:
					close(stop)
					t.Fatalf("no 50 acknowledgements in a minute")
				}
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitErr := cmd.Wait()
			close(stop)
			o := <-done
			if len(o.bad) > 0 {
				t.Fatalf("answers both ok and an error: %v", o.bad)
			}
			if sig == syscall.SIGTERM && waitErr != nil {
				t.Fatalf("serve after SIGTERM: %v", waitErr)
			}
			if len(o.ids) < 50 {
				t.Fatalf("only %d acknowledgements", len(o.ids))
			}
			if missing := missingSignatures(t, dir, o.ids); len(missing) > 0 {
				t.Fatalf("%d of %d acknowledged signatures are not in the store: %v", len(missing), len(o.ids), missing[:min(5, len(missing))])
			}
			if _, err := os.Stat(filepath.Join(dir, server.AddrFile)); sig == syscall.SIGTERM && err == nil {
				t.Fatalf("%s left behind after a clean stop", server.AddrFile)
			}
		})
	}
}
