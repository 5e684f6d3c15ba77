package prep

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSeenSetCheckAndAdd(t *testing.T) {
	set := NewSeenSet(1 << 20)
	for i := uint64(0); i < 10000; i++ {
		require.False(t, set.CheckAndAdd(i*0xbf58476d1ce4e5b9), "first sight of %d", i)
	}
	for i := uint64(0); i < 10000; i++ {
		require.True(t, set.CheckAndAdd(i*0xbf58476d1ce4e5b9), "second sight of %d", i)
	}
	assert.Equal(t, 10000, set.Len())
	assert.Zero(t, set.Refused())
}

// At its budget the set stops remembering but keeps answering for what it holds.
func TestSeenSetMemoryBound(t *testing.T) {
	set := NewSeenSet(8 << 10) // 1024 slots
	for i := uint64(1); i <= 2000; i++ {
		set.CheckAndAdd(i * 0xbf58476d1ce4e5b9)
	}
	assert.Equal(t, 768, set.Len()) // 0.75 of 1024 slots
	assert.Equal(t, int64(2000-768), set.Refused())
	assert.True(t, set.CheckAndAdd(1*0xbf58476d1ce4e5b9))
	assert.Len(t, set.slots, 1024)
}

func TestSeenSetSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seen.bin")
	empty, err := LoadSeenSet(path, 1<<20) // missing file: empty set
	require.NoError(t, err)
	assert.Zero(t, empty.Len())

	set := NewSeenSet(1 << 20)
	for _, h := range []uint64{0, 7, 1 << 63, 12345} {
		set.CheckAndAdd(h)
	}
	require.NoError(t, set.SaveAtomic(path))
	loaded, err := LoadSeenSet(path, 1<<10) // smaller budget than needed still loads all
	require.NoError(t, err)
	assert.Equal(t, 4, loaded.Len())
	for _, h := range []uint64{0, 7, 1 << 63, 12345} {
		assert.True(t, loaded.CheckAndAdd(h))
	}
	matches, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".seen.bin.tmp*"))
	require.NoError(t, err)
	assert.Empty(t, matches, "no temp file left behind")
}

func TestReadSeenSetRejectsDamage(t *testing.T) {
	set := NewSeenSet(1 << 20)
	set.CheckAndAdd(42)
	set.CheckAndAdd(43)
	var good bytes.Buffer
	_, err := set.WriteTo(&good)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good.Bytes()[:good.Len()-6], "entry"},
		{"bad magic", append([]byte("XXXXXXXX"), good.Bytes()[8:]...), "bad magic"},
		{"flipped bit", flipByte(good.Bytes(), 17), "checksum"},
		{"empty", nil, "header"},
	} {
		_, err := ReadSeenSet(bytes.NewReader(tc.data), 1<<20)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
}

func flipByte(data []byte, i int) []byte {
	out := bytes.Clone(data)
	out[i] ^= 0x01
	return out
}

func FuzzReadSeenSet(f *testing.F) {
	set := NewSeenSet(1 << 20)
	set.CheckAndAdd(42)
	var good bytes.Buffer
	_, _ = set.WriteTo(&good)
	f.Add(good.Bytes())
	f.Add([]byte(seenFileMagic + "\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		loaded, err := ReadSeenSet(bytes.NewReader(data), 1<<16)
		if err != nil {
			return
		}
		var again bytes.Buffer
		_, err = loaded.WriteTo(&again)
		require.NoError(t, err)
		require.Equal(t, data[:again.Len()], again.Bytes(), "a set that loads saves to the same bytes")
	})
}
