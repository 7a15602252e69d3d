//go:build unix

package private

import "syscall"

func mask() { syscall.Umask(0o077) }
