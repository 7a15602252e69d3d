//go:build !unix

package private

func mask() {}
