package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
)

// runSubmit applies each command line in order and prints one result line
// per command once its events are durable.
func runSubmit(e *env, args []string) error {
	fs := e.flags("submit")
	file := fs.String("file", "", "JSON-lines file of commands; - for standard input")
	actor := fs.String("actor", envOr("LEDGER_ACTOR", envOr("USER", "cli")), "who submits (recorded on each event; env LEDGER_ACTOR)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usageError{"--file is required"}
	}
	var in io.Reader = e.stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	ledger := app.New(store, app.Options{Actor: *actor, Schemes: e.schemes})
	res, err := submitLines(e, ledger, in)
	if err != nil {
		return err
	}
	if res.failed > 0 {
		return failed{fmt.Sprintf("%d of %d commands rejected", res.failed, res.total)}
	}
	return nil
}

type submitStats struct{ total, failed, events int }

func submitLines(e *env, ledger *app.Ledger, in io.Reader) (submitStats, error) {
	var st submitStats
	out := json.NewEncoder(e.stdout)
	out.SetEscapeHTML(false)
	err := eachLine(in, domain.MaxCommandBytes, func(n int, line []byte, tooLong int) error {
		line = bytes.TrimSpace(line)
		if len(line) == 0 && tooLong == 0 {
			return nil
		}
		st.total++
		var res app.Result
		if tooLong > 0 {
			res = app.Rejected("", domain.Reject(domain.CodeLineTooLong, "", fmt.Sprintf("a command is at most %d bytes (1 MiB); this line has %d", domain.MaxCommandBytes, tooLong)))
		} else {
			var err error
			if res, err = ledger.Submit(e.ctx, line); err != nil {
				return fmt.Errorf("line %d: %w (nothing after this line was applied; re-submitting the file is safe)", n, err)
			}
		}
		if !res.OK {
			st.failed++
			res.Error.Message = fmt.Sprintf("line %d: %s", n, res.Error.Message)
		}
		st.events += len(res.Events)
		return out.Encode(res)
	})
	return st, err
}

// eachLine calls fn with each line of r (without its newline) and its
// number, from 1. A line longer than max bytes is not held in memory: fn
// gets it as nil with tooLong set to the bytes read of it (more than max),
// and the next line follows. A read error stops it.
func eachLine(r io.Reader, max int, fn func(n int, line []byte, tooLong int) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for n := 1; ; n++ {
		buf = buf[:0]
		size, long := 0, false
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			size += len(chunk)
			if bytes.HasSuffix(chunk, []byte("\n")) {
				size--
			}
			if !long {
				if size > max {
					long, buf = true, buf[:0]
				} else {
					buf = append(buf, chunk...)
				}
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read commands at line %d: %w", n, err)
		}
		if size == 0 && err == io.EOF {
			return nil
		}
		line := bytes.TrimSuffix(buf, []byte("\n"))
		tooLong := 0
		if long || len(line) > max {
			line, tooLong = nil, size
		}
		if ferr := fn(n, line, tooLong); ferr != nil {
			return ferr
		}
		if err == io.EOF {
			return nil
		}
	}
}
