// Package buildinfo says which build of the ledger runs: the module version,
// the VCS revision and time it was built from, and Go's version.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Info is what ledger version prints.
type Info struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

// Read reads the module version and the VCS revision the binary
// was built from (runtime/debug.ReadBuildInfo).
func Read() Info {
	b := Info{Version: "(devel)", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func (b Info) String() string {
	s := "ledger " + b.Version
	if b.Revision != "" {
		s += " (" + b.Revision[:min(12, len(b.Revision))]
		if b.Modified {
			s += ", modified"
		}
		s += ", " + b.Time + ")"
	}
	return s + " " + b.Go
}
