package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadLazyLoadDB(t *testing.T) {
	dir := t.TempDir()
	rdx := writeLazyLoadDB(t, dir, []string{"emma", "persuasion"}, [][]string{
		{"EMMA", "", "CHAPTER I", "", "Emma Woodhouse, handsome, clever,", "and rich.", "", "Chapter 2", "", "Mr. Weston was a native of Highbury."},
		{"Persuasion", "", "Chapter 1", "", "Sir Walter Elliot, of Kellynch Hall."},
	})
	names, values, err := readLazyLoadDB(rdx, dir+"/Rdata.rdb")
	require.NoError(t, err)
	assert.Equal(t, []string{"emma", "persuasion"}, names)
	require.Len(t, values, 2)
	assert.Equal(t, rString, values[1].Type)
	assert.Equal(t, []string{"Persuasion", "", "Chapter 1", "", "Sir Walter Elliot, of Kellynch Hall."}, values[1].Strings)

	assert.Equal(t, []document{
		{Text: "EMMA", URL: "u#emma/0"},
		{Text: "Emma Woodhouse, handsome, clever, and rich.", URL: "u#emma/1"},
		{Text: "Mr. Weston was a native of Highbury.", URL: "u#emma/2"},
	}, bookDocuments("u#emma", values[0].Strings))
}

func TestUnserializeRErrors(t *testing.T) {
	valid := newRWriter()
	valid.strings([]string{"a", "b"}, nil)
	data := valid.b.Bytes()
	for _, tc := range []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"not XDR", []byte("RDX2\n"), "not XDR"},
		{"truncated", data[:len(data)-1], "element 1"},
		{"unsupported type", append(append([]byte{}, data[:23]...), 0, 0, 0, 3), "R type 3 not supported"},
		{"bad length", append(append([]byte{}, data[:23]...), 0, 0, 0, 16, 0x7f, 0, 0, 0), "bad length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := unserializeR(tc.data)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
	v, err := unserializeR(data)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, v.Strings)
}

func FuzzUnserializeR(f *testing.F) {
	w := newRWriter()
	w.strings([]string{"x", "y"}, []string{"n1", "n2"})
	f.Add(w.b.Bytes())
	f.Add([]byte("X\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = unserializeR(data) // must not panic or allocate without bound
	})
}
