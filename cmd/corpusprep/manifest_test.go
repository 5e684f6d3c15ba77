package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCopyrightLicenses(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"dep5", "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n\nFiles: doc/*\nLicense: GFDL-1.3\n Long text.\n\nFiles: debian/*\nLicense: GPL-2+\n", []string{"GPL-2+", "GFDL-1.3"}},
		{"free-form", "This package is licensed under the GNU General Public License, version 2.\nParts are in the public domain.\n", []string{"GPL", "public-domain"}},
		{"lgpl is not gpl", "GNU Lesser General Public License", []string{"LGPL"}},
		{"nothing known", "All rights reserved.", []string{"unknown (see copyright_file)"}},
	} {
		assert.Equal(t, tc.want, copyrightLicenses(tc.text), tc.name)
	}
}

func TestBuildManifest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
		return path
	}
	copyright := write("copyright", "Format: x\nLicense: MIT\n")
	table := write("packages.tsv", "dict-foldoc\t20230119-1\t"+copyright+"\n")
	set := filepath.Join(dir, "en_orig.jsonl")
	require.NoError(t, writeJSONL(set, []document{{Text: "a\nbc", URL: "u1"}, {Text: "déf", URL: "u2"}}))
	write("en_orig.jsonl.stats.json", `{"documents_in": 3}`)

	packages, err := readPackageTable(table)
	require.NoError(t, err)
	m, err := buildManifest([]string{"en_orig=" + set + ":dict-foldoc"}, packages, dir)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, writeManifest(&out, m))
	assert.JSONEq(t, `{"sets": [{
		"name": "en_orig", "file": "en_orig.jsonl", "documents": 2, "paragraphs": 3, "bytes": 8,
		"packages": [{"name": "dict-foldoc", "version": "20230119-1", "licenses": ["MIT"], "copyright_file": "copyright"}],
		"prepare_stats": {"documents_in": 3}}]}`, out.String())

	for _, spec := range []string{"en_orig", "en_orig=" + set + ":other-package", "x=" + filepath.Join(dir, "missing.jsonl") + ":dict-foldoc"} {
		_, err := buildManifest([]string{spec}, packages, dir)
		assert.Error(t, err, spec)
	}
}
