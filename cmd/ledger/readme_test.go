package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeChecked are the commands whose README examples run against a
// ledger holding the README's T2 contract: their output must be what the
// README shows, so that the README cannot drift from the program. The
// others (audit, rebuild, backup, serve) print times and paths of the
// machine they ran on.
var readmeChecked = map[string]bool{"submit": true, "payments": true, "balance": true, "alerts": true, "verify": true,
	"export": true, "schedule": true, "totals": true, "contracts": true, "contract": true, "rulebook": true, "rulebooks": true, "pay": true, "reconcile": true}

// TestReadmeExamples runs the README's console examples in order, in one
// data directory, and compares what each prints (standard output, then
// standard error) with the lines shown. In the README, a line "…" elides
// the rest of the output, "…" inside a line elides part of it, and
// "(exit status N)" after a line gives the exit status; "| head -N",
// "| tail -N" and "> /dev/null" keep what they keep of standard output.
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data") // made by the ledger, private
	// On the ledger's own clock, as a user runs them: acts dated before
	// today are refused (the tests replay generated histories otherwise).
	// Parallel tests start after this one ends.
	replay := replayHistory
	replayHistory = false
	defer func() { replayHistory = replay }()
	checked := 0
	for _, ex := range readmeExamples(string(readme)) {
		args, stdin, head, ok := readmeCommand(ex.command, filepath.Dir(dir))
		if !ok || !readmeChecked[args[0]] {
			continue
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"--data", dir}, args...), strings.NewReader(stdin), &out, &errb)
		got := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
		switch {
		case head == discard:
			got = nil
		case head > 0 && len(got) > head:
			got = got[:head]
		case head < 0 && len(got) > -head:
			got = got[len(got)+head:]
		}
		if e := strings.TrimRight(errb.String(), "\n"); e != "" && head == 0 {
			got = append(got, strings.Split(e, "\n")...)
		}
		if code != ex.exit {
			t.Errorf("README: $ %s\nexit status %d, the README says %d\n%s", ex.command, code, ex.exit, strings.Join(got, "\n"))
		}
		if !readmeMatch(ex.output, got) {
			t.Errorf("README: $ %s\nprints\n%s\nthe README shows\n%s", ex.command, strings.Join(got, "\n"), strings.Join(ex.output, "\n"))
		}
		checked++
	}
	t.Logf("%d README examples checked", checked)
	if checked < 20 {
		t.Fatalf("only %d README examples checked", checked)
	}
}

// discard, as a head, is "> /dev/null": nothing shown.
const discard = 1 << 20

type readmeExample struct {
	command string
	output  []string
	exit    int
}

// readmeOff and readmeOn bound the README's parts whose examples are not
// checked: they show files, paths and times of one machine.
const (
	readmeOff = "<!-- TestReadmeExamples: off"
	readmeOn  = "<!-- TestReadmeExamples: on"
)

// readmeExamples reads the commands of the README's console blocks with
// the lines each prints.
func readmeExamples(readme string) []readmeExample {
	var out []readmeExample
	in, off := false, false
	for _, line := range strings.Split(readme, "\n") {
		switch {
		case strings.HasPrefix(line, readmeOff):
			off = true
		case strings.HasPrefix(line, readmeOn):
			off = false
		case off:
		case strings.HasPrefix(line, "```console"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in && strings.HasPrefix(line, "$ "):
			cmd, _, _ := strings.Cut(line[2:], "  #")
			out = append(out, readmeExample{command: strings.TrimSpace(cmd)})
		case in && len(out) > 0:
			ex := &out[len(out)-1]
			if i := strings.Index(line, "(exit status "); i > 0 {
				ex.exit = int(line[i+len("(exit status ")] - '0')
				line = strings.TrimRight(line[:i], " ")
			}
			ex.output = append(ex.output, line)
		}
	}
	return out
}

// readmeToday is how the README dates an act on the day it is recorded:
// the example file says TODAY, sed puts in the date.
const readmeToday = `sed "s/TODAY/$(date -u +%F)/" `

// readmeCommand turns a README command line into the ledger's arguments:
// "echo 'X' | ledger …" gives X as standard input, readmeToday FILE | …
// gives the file with today's date (UTC) for TODAY, "… | head -N" keeps N
// lines; a file a command writes (--out F) goes to the directory work. ok
// is false for a line that is not a ledger command.
func readmeCommand(line, work string) (args []string, stdin string, head int, ok bool) {
	if rest, found := strings.CutPrefix(line, readmeToday); found {
		file, cmd, found := strings.Cut(rest, " | ")
		text, err := os.ReadFile(filepath.Join("../..", file))
		if !found || err != nil {
			return nil, "", 0, false
		}
		// sed without g: the first TODAY of each line, as the shell does.
		today := time.Now().UTC().Format(time.DateOnly)
		lines := strings.Split(string(text), "\n")
		for i := range lines {
			lines[i] = strings.Replace(lines[i], "TODAY", today, 1)
		}
		stdin, line = strings.Join(lines, "\n"), cmd
	}
	if rest, found := strings.CutPrefix(line, "echo '"); found {
		text, cmd, found := strings.Cut(rest, "' | ")
		if !found {
			return nil, "", 0, false
		}
		stdin, line = text+"\n", cmd
	}
	if cmd, h, found := strings.Cut(line, " | head -"); found {
		line, head = cmd, int(h[0]-'0')
	}
	if cmd, h, found := strings.Cut(line, " | tail -"); found {
		line, head = cmd, -int(h[0]-'0')
	}
	if cmd, found := strings.CutSuffix(line, " > /dev/null"); found {
		line, head = cmd, discard
	}
	// The README's commands of today: dates as the shell would write them.
	now := time.Now().UTC()
	line = strings.NewReplacer("$(date -u +%F)", now.Format(time.DateOnly), "$(date -u +%Y-%m)", now.Format("2006-01")).Replace(line)
	words := shellWords(line)
	if len(words) < 2 || words[0] != "ledger" {
		return nil, "", 0, false
	}
	for i, w := range words {
		switch {
		case strings.HasPrefix(w, "examples/"):
			words[i] = "../../" + w
		case i > 0 && words[i-1] == "--out":
			words[i] = filepath.Join(work, w) // a file the command writes: in the test's directory
		}
	}
	return words[1:], stdin, head, true
}

// shellWords splits a command line on spaces, keeping quoted words whole.
func shellWords(s string) []string {
	var out []string
	var b strings.Builder
	quote, inWord := rune(0), false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			b.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ':
			if inWord {
				out = append(out, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, b.String())
	}
	return out
}

// readmeMatch compares the lines a command printed with the README's.
func readmeMatch(want, got []string) bool {
	for i, w := range want {
		if strings.TrimSpace(w) == "…" {
			return true
		}
		if i >= len(got) {
			return false
		}
		if parts := strings.Split(w, "…"); len(parts) > 1 {
			rest, ok := strings.CutPrefix(got[i], parts[0])
			for _, p := range parts[1 : len(parts)-1] {
				j := strings.Index(rest, p)
				ok = ok && j >= 0
				if ok {
					rest = rest[j+len(p):]
				}
			}
			if !ok || !strings.HasSuffix(rest, parts[len(parts)-1]) {
				return false
			}
			continue
		}
		if w != got[i] {
			return false
		}
	}
	return len(want) == len(got)
}
