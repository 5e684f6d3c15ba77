// Command corpusprep turns the text inside Debian packages (dictd
// dictionaries, R data sets, gettext catalogues, man pages) into the JSONL
// documents `nrgraph data prepare` reads, and splits, samples and describes
// the resulting sets. scripts/corpora/build.sh drives it; language
// identification and paragraph dedup stay in data/prep.
package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// subcommands maps a name to its runner; each runner parses its own flags.
var subcommands = map[string]struct {
	summary string
	run     func(args []string) error
}{
	"dictd":    {"dictd database (.index + .dict.dz) -> one document per entry", runDictd},
	"rdata":    {"R lazy-load data (Rdata.rdx + .rdb) of character vectors -> one document per chapter", runRData},
	"po":       {"PO text (msgunfmt output) -> documents of consecutive translated messages", runPO},
	"man":      {"man pages rendered by groff -> one document per page", runMan},
	"split":    {"deterministic document-level train/held-out split of a JSONL", runSplit},
	"sample":   {"small deterministic sample of a JSONL (test fixtures)", runSample},
	"manifest": {"manifest JSON: sizes per set, packages, versions and licenses", runManifest},
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "corpusprep:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		var b strings.Builder
		b.WriteString("usage: corpusprep SUBCOMMAND [flags]\n\n")
		for _, name := range slices.Sorted(maps.Keys(subcommands)) {
			fmt.Fprintf(&b, "  %-9s %s\n", name, subcommands[name].summary)
		}
		fmt.Fprint(os.Stderr, b.String())
		if len(args) == 0 {
			return fmt.Errorf("missing subcommand")
		}
		return nil
	}
	cmd, ok := subcommands[args[0]]
	if !ok {
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
	if err := cmd.run(args[1:]); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	return nil
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	return fs
}
