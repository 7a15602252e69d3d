package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// commitsCounted is how many single-event commits a child makes under
// strace.
const commitsCounted = 200

// fsyncsPerCommit runs each store's single-event appends under strace
// (fsync and fdatasync counted, every thread), once with commitsCounted
// commits and once with none (what opening and closing cost), and prints
// the difference per commit.
func fsyncsPerCommit() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("strace"); err != nil {
		return fmt.Errorf("-strace needs strace (apt-get install strace): %w", err)
	}
	for _, o := range append(stores, ceiling) {
		with, err := straced(self, o.name, commitsCounted)
		if err != nil {
			return err
		}
		without, err := straced(self, o.name, 0)
		if err != nil {
			return err
		}
		fmt.Printf("fsyncs per commit, %s: %.2f (%d with %d commits, %d opening and closing alone)\n", o.name,
			float64(with-without)/commitsCounted, with, commitsCounted, without)
	}
	return nil
}

func straced(self, store string, commits int) (int, error) {
	out, err := os.CreateTemp(*dir, "strace-*")
	if err != nil {
		return 0, err
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.Command("strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", out.Name(), self, "-child", fmt.Sprintf("%s:%d", store, commits))
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("strace %s: %v\n%s", store, err, b)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && (f[len(f)-1] == "fsync" || f[len(f)-1] == "fdatasync") {
			c, err := strconv.Atoi(f[3])
			if err != nil {
				return 0, fmt.Errorf("strace's summary: %q", line)
			}
			n += c
		}
	}
	return n, nil
}

// runChild opens a fresh store and makes n single-event commits.
func runChild(spec string) int {
	name, count, _ := strings.Cut(spec, ":")
	n, _ := strconv.Atoi(count)
	d, err := os.MkdirTemp(*dir, "storebench-child-*")
	if err != nil {
		return 1
	}
	defer os.RemoveAll(d)
	for _, o := range append(stores, ceiling) {
		if o.name != name {
			continue
		}
		s, err := o.open(filepath.Join(d))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for i := 0; i < n; i++ {
			if err := s.append(fmt.Sprintf("s-%d", i), 0, 1); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		s.close()
		return 0
	}
	return 2
}
