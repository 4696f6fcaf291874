package policy

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// What the policy's top-level orphans key may say about a gateway vpngw
// created whose request was announced failed (an orphan).
const (
	// OrphansReport (the default): announce it, list it, leave it.
	OrphansReport = "report"
	// OrphansDelete: announce it and delete it, as a delete request would.
	OrphansDelete = "delete"
)

var orphanActions = []string{OrphansReport, OrphansDelete}

// Orphans is what the operator wants done with orphans: OrphansReport or
// OrphansDelete. A nil policy reports only.
func (p *Policy) Orphans() string {
	if p == nil || p.orphans == "" {
		return OrphansReport
	}
	return p.orphans
}

// orphansKey reads the top-level orphans key.
func (l *loader) orphansKey(v *yaml.Node, path string, p *Policy) {
	s, ok := l.str(v, path)
	if !ok {
		return
	}
	for _, a := range orphanActions {
		if s == a {
			p.orphans = s
			return
		}
	}
	l.fail(v, path, "orphans %q is not known; allowed: %s (what vpngw does with a gateway it created whose request failed; default %s)",
		s, strings.Join(orphanActions, ", "), OrphansReport)
}
