package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// debianPackage is one package a set was built from.
type debianPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Licenses are the DEP-5 "License:" names of debian/copyright, or for
	// a free-form copyright file the licenses it mentions.
	Licenses      []string `json:"licenses"`
	CopyrightFile string   `json:"copyright_file"` // kept copy of /usr/share/doc/<pkg>/copyright
}

// corpusSet is one output set of the manifest.
type corpusSet struct {
	Name       string          `json:"name"`
	File       string          `json:"file"`
	Documents  int             `json:"documents"`
	Paragraphs int             `json:"paragraphs"`
	Bytes      int64           `json:"bytes"` // UTF-8 bytes of text
	Packages   []debianPackage `json:"packages"`
	// PrepareStats is `nrgraph data prepare`'s stats file for the set
	// (documents and paragraphs dropped by language and dedup), if any.
	PrepareStats json.RawMessage `json:"prepare_stats,omitempty"`
}

type manifest struct {
	Sets []corpusSet `json:"sets"`
}

var (
	dep5License = regexp.MustCompile(`(?m)^License:[ \t]*(\S[^\n]*)$`)
	// licenseMentions maps phrases of free-form copyright files to SPDX-like
	// names, most specific first.
	licenseMentions = []struct {
		re   *regexp.Regexp
		name string
	}{
		{regexp.MustCompile(`(?i)GNU Lesser General Public License|GNU Library General Public License|\bLGPL`), "LGPL"},
		{regexp.MustCompile(`(?i)GNU Free Documentation License|\bGFDL`), "GFDL"},
		{regexp.MustCompile(`(?i)GNU (General )?Public License|\bGPL`), "GPL"},
		{regexp.MustCompile(`(?i)Artistic License`), "Artistic"},
		{regexp.MustCompile(`(?i)Mozilla Public License|\bMPL`), "MPL"},
		{regexp.MustCompile(`(?i)Apache License`), "Apache"},
		{regexp.MustCompile(`(?i)Creative Commons|\bCC-BY`), "CC"},
		{regexp.MustCompile(`(?i)\bBSD\b`), "BSD"},
		{regexp.MustCompile(`(?i)\bMIT\b|Expat`), "MIT/Expat"},
		{regexp.MustCompile(`(?i)PYTHON SOFTWARE FOUNDATION LICENSE`), "PSF"},
		{regexp.MustCompile(`(?i)public domain`), "public-domain"},
	}
)

// copyrightLicenses summarises a debian/copyright file.
func copyrightLicenses(text string) []string {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if n = strings.TrimSpace(n); n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if strings.HasPrefix(text, "Format:") {
		for _, m := range dep5License.FindAllStringSubmatch(text, -1) {
			add(m[1])
		}
		if len(names) > 0 {
			return names
		}
	}
	for _, l := range licenseMentions {
		if l.re.MatchString(text) {
			add(l.name)
		}
	}
	if len(names) == 0 {
		add("unknown (see copyright_file)")
	}
	return names
}

// readPackageTable reads "name<TAB>version<TAB>copyright path" lines.
func readPackageTable(path string) (map[string]debianPackage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pkgs := map[string]debianPackage{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: want name, version, copyright file (tab-separated), got %d fields", path, line, len(fields))
		}
		p := debianPackage{Name: fields[0], Version: fields[1], CopyrightFile: fields[2]}
		text, err := os.ReadFile(p.CopyrightFile)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: package %s: %w", path, line, p.Name, err)
		}
		p.Licenses = copyrightLicenses(string(text))
		pkgs[p.Name] = p
	}
	return pkgs, sc.Err()
}

// measureSet counts documents, paragraphs (lines of text) and text bytes.
func measureSet(path string) (docs, paragraphs int, size int64, err error) {
	all, err := readJSONL(path)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, d := range all {
		paragraphs += strings.Count(d.Text, "\n") + 1
		size += int64(len(d.Text))
	}
	return len(all), paragraphs, size, nil
}

// buildManifest describes sets given as "NAME=FILE:pkg,pkg".
func buildManifest(specs []string, packages map[string]debianPackage, relativeTo string) (manifest, error) {
	var m manifest
	for _, spec := range specs {
		name, rest, ok1 := strings.Cut(spec, "=")
		file, pkgList, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 || name == "" || file == "" {
			return m, fmt.Errorf("set %q: want NAME=FILE:pkg,pkg", spec)
		}
		set := corpusSet{Name: name, File: file}
		if rel, err := filepath.Rel(relativeTo, file); err == nil && relativeTo != "" {
			set.File = rel
		}
		var err error
		if set.Documents, set.Paragraphs, set.Bytes, err = measureSet(file); err != nil {
			return m, fmt.Errorf("set %s: %w", name, err)
		}
		for _, p := range strings.Split(pkgList, ",") {
			pkg, ok := packages[p]
			if !ok {
				return m, fmt.Errorf("set %s: package %q not in the package table", name, p)
			}
			if rel, err := filepath.Rel(relativeTo, pkg.CopyrightFile); err == nil && relativeTo != "" {
				pkg.CopyrightFile = rel
			}
			set.Packages = append(set.Packages, pkg)
		}
		if stats, err := os.ReadFile(file + ".stats.json"); err == nil && json.Valid(stats) {
			set.PrepareStats = json.RawMessage(stats)
		}
		m.Sets = append(m.Sets, set)
	}
	return m, nil
}

func writeManifest(w io.Writer, m manifest) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(m)
}

func runManifest(args []string) error {
	fs := newFlagSet("manifest")
	out := fs.String("out", "", "output JSON")
	table := fs.String("packages", "", "package table: name<TAB>version<TAB>copyright file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *table == "" || fs.NArg() == 0 {
		return fmt.Errorf("usage: corpusprep manifest --out manifest.json --packages packages.tsv NAME=FILE:pkg,pkg...")
	}
	packages, err := readPackageTable(*table)
	if err != nil {
		return err
	}
	m, err := buildManifest(fs.Args(), packages, filepath.Dir(*out))
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(*out), filepath.Base(*out)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := writeManifest(f, m); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	return os.Rename(f.Name(), *out)
}
