// Command coredns is CoreDNS with every standard plugin and floodguard.
package main

import (
	"fmt"
	"os"

	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/core/plugin" // the standard plugins, as upstream's plugin.cfg
	"github.com/coredns/coredns/coremain"

	"github.com/floodguard/floodguard"
)

func main() {
	directives, err := floodguard.InsertDirective(dnsserver.Directives)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dnsserver.Directives = directives
	coremain.Run()
}
