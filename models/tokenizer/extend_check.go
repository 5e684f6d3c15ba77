package tokenizer

import (
	"fmt"
)

// Extension describes an extended tokenizer against the one it extends:
// the new ids are FirstID .. FirstID+len(Pieces)-1, and Pieces[k] is new
// token k's encoding under the old tokenizer (the pieces it replaces, whose
// embedding rows initialise its own).
type Extension struct {
	FirstID int
	Pieces  [][]int
}

// CheckExtension checks that ext extends old the way Extend does, so that
// old ids keep their meaning and text tokenizes as before wherever no new
// merge applies: the same pipeline, every old token at the same id, the
// old merges first and in the same order, and the new tokens at the ids
// firstID, firstID+1, ... (the rows appended after the embedding). It
// returns the new tokens with their pieces.
func CheckExtension(old, ext *Tokenizer, firstID int) (Extension, error) {
	x := Extension{FirstID: firstID}
	if old.kind != KindByteLevelBPE || ext.kind != old.kind || ext.byteLevel != old.byteLevel {
		return x, fmt.Errorf("extended tokenizer is %s, the model's %s: only byte-level BPE tokenizers can be extended", ext.kind, old.kind)
	}
	for tok, id := range old.model.vocab {
		if got, ok := ext.model.vocab[tok]; !ok || got != id {
			return x, fmt.Errorf("extended tokenizer: token %q has id %d in the model's tokenizer but %d (or none) in the extended one: old ids must keep their meaning", tok, id, got)
		}
	}
	for id := range old.VocabSize() {
		if old.special[id] != ext.special[id] || old.idToToken[id] != ext.idToToken[id] {
			return x, fmt.Errorf("extended tokenizer: id %d is %q there but %q in the model's tokenizer", id, ext.idToToken[id], old.idToToken[id])
		}
	}
	oldMerges := len(old.model.merges)
	for pair, rule := range old.model.merges {
		if got, ok := ext.model.merges[pair]; !ok || got != rule {
			return x, fmt.Errorf("extended tokenizer: merge %d of the model's tokenizer is missing or moved: new merges must come after all old ones", rule.rank)
		}
	}
	for pair, rule := range ext.model.merges {
		if _, isOld := old.model.merges[pair]; !isOld && int(rule.rank) < oldMerges {
			return x, fmt.Errorf("extended tokenizer: new merge at rank %d comes before old ones (%d): it would change how old text tokenizes", rule.rank, oldMerges)
		}
	}
	n := ext.VocabSize() - firstID
	if n <= 0 {
		return x, fmt.Errorf("extended tokenizer has %d ids, none after the model's vocab_size %d: nothing to add", ext.VocabSize(), firstID)
	}
	for id := old.VocabSize(); id < ext.VocabSize(); id++ {
		tok, ok := ext.Token(id)
		switch {
		case id < firstID && ok:
			return x, fmt.Errorf("extended tokenizer: new token %q has id %d, inside the model's vocab_size %d: new ids must start at %d", tok, id, firstID, firstID)
		case id >= firstID && !ok:
			return x, fmt.Errorf("extended tokenizer: id %d has no token: new ids must be contiguous from %d", id, firstID)
		case id >= firstID && ext.special[id]:
			return x, fmt.Errorf("extended tokenizer: new id %d is a special added token %q: only BPE tokens are supported", id, tok)
		case id >= firstID:
			x.Pieces = append(x.Pieces, old.model.encodeWord(string(tokenBytes(tok)), true, nil))
		}
	}
	return x, nil
}
