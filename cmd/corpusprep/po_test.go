package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePO(t *testing.T) {
	f, err := os.Open("testdata/wesnoth-like.po")
	require.NoError(t, err)
	defer f.Close()
	msgs, err := parsePO(f, "wesnoth-like.po")
	require.NoError(t, err)
	require.Len(t, msgs, 5)
	assert.Equal(t, "", msgs[0].ID)
	assert.Equal(t, poMessage{ID: "Open", Translations: []string{"Ouvrir"}}, msgs[1])
	assert.Equal(t, "unit description", msgs[2].Context)
	assert.Equal(t, []string{"Il reste à $name %d pièce d’or pour ce tour.", "Il reste à $name %d pièces d’or pour ce tour."}, msgs[3].Translations)
	assert.Equal(t, "Il a dit « \"bonjour\" » puis s’en est allé\tvers le nord.", msgs[4].Translations[0])

	checkGolden(t, "wesnoth-like.golden.jsonl", catalogueDocuments("pkg/fr/wesnoth.mo", msgs, 4, 100))
}

func TestParsePOErrors(t *testing.T) {
	for _, tc := range []struct{ name, po, wantErr string }{
		{"unquoted", "msgid Open\n", "x.po:1: not a quoted string"},
		{"orphan string", "\"text\"\n", "x.po:1: string outside an entry"},
		{"msgstr first", "msgstr \"a\"\n", "x.po:1: msgstr without msgid"},
		{"unknown keyword", "msgid \"a\"\nmsgtxt \"b\"\n", "x.po:2: unknown keyword"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parsePO(strings.NewReader(tc.po), "x.po")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestMessageParagraphs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Annuler", nil},
		{"Choisissez une unité à recruter.", []string{"Choisissez une unité à recruter."}},
		{"<bold>text='Attention'</bold> Vous avez %s pièces d’or restantes ici", []string{"Attention Vous avez pièces d’or restantes ici"}},
		{"Première ligne de texte ici.\n\nSeconde ligne de texte là.", []string{"Première ligne de texte ici.", "Seconde ligne de texte là."}},
	} {
		assert.Equal(t, tc.want, messageParagraphs(tc.in, 4), tc.in)
	}
}

func FuzzParsePO(f *testing.F) {
	data, err := os.ReadFile("testdata/wesnoth-like.po")
	require.NoError(f, err)
	f.Add(string(data))
	f.Add("msgid \"\\\"\nmsgstr \"\\")
	f.Fuzz(func(t *testing.T, po string) {
		msgs, err := parsePO(strings.NewReader(po), "fuzz")
		if err == nil {
			catalogueDocuments("fuzz", msgs, 1, 10)
		}
	})
}
