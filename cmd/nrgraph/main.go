// Command nrgraph extends a pretrained decoder LLM to a new language or domain
// with neutral residues (gated adapters trained with a local sparsity loss),
// by emitting ONNX training graphs and running them with ONNX Runtime.
//
// Each subcommand lives in its own file and registers itself in init(); this
// file only dispatches. Subcommands parse flags with pflag and call into a
// package: no logic lives under cmd/.
package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nrgraph/nrgraph/trainer"
)

// subcommand is one `nrgraph NAME` entry.
type subcommand struct {
	name    string
	summary string
	// run receives the arguments after the subcommand name.
	run func(args []string) error
}

var subcommands = map[string]subcommand{}

// register adds a subcommand; a duplicate name is a programming error.
func register(c subcommand) {
	if _, dup := subcommands[c.name]; dup {
		panic("nrgraph: duplicate subcommand " + c.name)
	}
	subcommands[c.name] = c
}

// newFlagSet returns a pflag set whose usage line names the subcommand.
func newFlagSet(name, usage string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: nrgraph %s %s\n\nflags:\n%s", name, usage, fs.FlagUsages())
	}
	return fs
}

func usage() {
	names := slices.Sorted(maps.Keys(subcommands))
	var b strings.Builder
	b.WriteString("nrgraph: extend a pretrained decoder LLM without forgetting (neutral residues)\n\nusage: nrgraph COMMAND [flags]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-16s %s\n", n, subcommands[n].summary)
	}
	b.WriteString("\nRun 'nrgraph COMMAND --help' for a command's flags.\n")
	fmt.Fprint(os.Stderr, b.String())
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(exitUsage)
		}
		return
	}
	cmd, ok := subcommands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "nrgraph: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(exitUsage)
	}
	err := cmd.run(os.Args[2:])
	switch code := exitCode(err); code {
	case exitOK:
	case exitInterrupted:
		fmt.Fprintf(os.Stderr, "nrgraph %s: interrupted after saving a checkpoint (nrgraph train --resume continues it)\n", cmd.name)
		os.Exit(code)
	default:
		fmt.Fprintf(os.Stderr, "nrgraph %s: %v\n", cmd.name, err)
		os.Exit(code)
	}
}

// Exit codes, as the README lists them: a script can tell a finished run
// from one a signal stopped after checkpointing.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2 // no or unknown command
	exitInterrupted = 3 // SIGINT/SIGTERM: checkpoint saved, --resume continues
)

func exitCode(err error) int {
	switch {
	case err == nil || errors.Is(err, pflag.ErrHelp):
		return exitOK
	case errors.Is(err, trainer.ErrInterrupted):
		return exitInterrupted
	}
	return exitError
}
