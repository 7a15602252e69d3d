package app

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/cptsledger/ledger/domain"
)

// utf8BOM is the byte order mark some editors write first.
var utf8BOM = []byte("\xef\xbb\xbf")

// The command path of the front ends that take JSON lines (ledger submit,
// POST /api/v1/commands): lines read with a bound, and one result a line.

// EachLine calls fn with each line of r (without its newline) and its
// number, from 1. A line longer than max bytes is not held in memory: fn
// gets it as nil with tooLong set to the bytes read of it (more than max),
// and the next line follows. A read error stops it. A UTF-8 byte order
// mark at the very start (what a spreadsheet or a Windows editor saves a
// file with) is not part of the first line.
func EachLine(r io.Reader, max int, fn func(n int, line []byte, tooLong int) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(len(utf8BOM)); bytes.Equal(head, utf8BOM) {
		br.Discard(len(utf8BOM))
	}
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

// SubmitLine submits line n of a JSON-lines input as actor and returns the
// result a front end prints for it: a line too long (tooLong bytes, as
// EachLine reports it) is rejected without being read, and a rejection's
// message names the line. The error is the store's: nothing after this line
// was applied, and submitting the input again is safe.
func (l *Ledger) SubmitLine(ctx context.Context, actor string, n int, line []byte, tooLong int) (Result, error) {
	if tooLong > 0 {
		return Rejected("", domain.Reject(domain.CodeLineTooLong, "", fmt.Sprintf("line %d: a command is at most %d bytes (1 MiB); this line has %d",
			n, domain.MaxCommandBytes, tooLong))), nil
	}
	res, err := l.SubmitAs(ctx, actor, bytes.TrimSpace(line))
	if err != nil {
		return res, fmt.Errorf("line %d: %w (nothing after this line was applied; submitting the input again is safe)", n, err)
	}
	if !res.OK {
		res.Error.Message = fmt.Sprintf("line %d: %s", n, res.Error.Message)
	}
	return res, nil
}
