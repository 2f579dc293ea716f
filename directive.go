package floodguard

import (
	"fmt"
	"slices"
)

// landmark is the directive floodguard is placed immediately before: the
// slot CoreDNS's own shed uses, ahead of errors, log, cache, acl, any,
// rewrite, kubernetes and forward, so a dropped flood costs the least and
// never reaches the log.
const landmark = "prometheus"

// InsertDirective returns directives with floodguard placed immediately
// before prometheus. CoreDNS's directive order has moved between releases,
// so a missing landmark is an error rather than a silent misplacement.
func InsertDirective(directives []string) ([]string, error) {
	if slices.Contains(directives, pluginName) {
		return nil, fmt.Errorf("floodguard: the directive list already has %q", pluginName)
	}
	i := slices.Index(directives, landmark)
	if i < 0 {
		return nil, fmt.Errorf("floodguard: directive %q not found in CoreDNS's directive list; cannot place floodguard", landmark)
	}
	return slices.Insert(slices.Clone(directives), i, pluginName), nil
}
