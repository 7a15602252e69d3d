// Package atomicfile replaces a small file whole: the verdicts of the
// checks, the signer's and the witness's memories. A crash leaves the old
// file or the new one, never a part of either.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data: a new file beside it, mode 0600, synced,
// renamed over the old one, the directory synced.
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
