package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// enumFlag is a flag over a named string type with a fixed set of values:
// a typo is refused at parse time, naming the flag and the accepted values.
// An empty value is accepted when allowEmpty (meaning "the default").
type enumFlag[T ~string] struct {
	p          *T
	allowed    []T
	allowEmpty bool
}

func (e *enumFlag[T]) String() string { return string(*e.p) }
func (e *enumFlag[T]) Type() string   { return "string" }

func (e *enumFlag[T]) Set(s string) error {
	v := T(s)
	if !slices.Contains(e.allowed, v) && !(e.allowEmpty && s == "") {
		names := make([]string, len(e.allowed))
		for i, a := range e.allowed {
			names[i] = string(a)
		}
		return fmt.Errorf("want one of %s", strings.Join(names, ", "))
	}
	*e.p = v
	return nil
}

// enumVar registers an enumFlag whose default is *p's current value.
func enumVar[T ~string](fs *pflag.FlagSet, p *T, name string, allowed []T, usage string) {
	fs.Var(&enumFlag[T]{p: p, allowed: allowed, allowEmpty: *p == ""}, name, usage)
}

// enumListFlag is a comma-separated list of an enum's values (--methods
// finetune,lora): each item is checked as enumFlag checks one.
type enumListFlag[T ~string] struct {
	p       *[]T
	allowed []T
}

func (e *enumListFlag[T]) String() string {
	names := make([]string, len(*e.p))
	for i, v := range *e.p {
		names[i] = string(v)
	}
	return strings.Join(names, ",")
}

func (e *enumListFlag[T]) Type() string { return "list" }

func (e *enumListFlag[T]) Set(s string) error {
	var out []T
	for _, item := range strings.Split(s, ",") {
		var v T
		if err := (&enumFlag[T]{p: &v, allowed: e.allowed}).Set(strings.TrimSpace(item)); err != nil {
			return fmt.Errorf("%q: %w", item, err)
		}
		if slices.Contains(out, v) {
			return fmt.Errorf("%q given twice", item)
		}
		out = append(out, v)
	}
	*e.p = out
	return nil
}

// enumListVar registers an enumListFlag whose default is *p's current value.
func enumListVar[T ~string](fs *pflag.FlagSet, p *[]T, name string, allowed []T, usage string) {
	fs.Var(&enumListFlag[T]{p: p, allowed: allowed}, name, usage)
}
