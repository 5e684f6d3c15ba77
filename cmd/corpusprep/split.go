package main

import (
	"fmt"
	"hash/fnv"
	"sort"
)

// documentKey is what the held-out split and the sample hash: the url,
// which names the source file and part, so a document's side of the split
// does not depend on what else is in the set (or on the order of files).
func documentKey(d document) string {
	if d.URL != "" {
		return d.URL
	}
	return d.Text
}

func keyHash(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()
}

// isHeldOut puts a document on the held-out side with probability
// heldOutFraction, decided by its key alone.
func isHeldOut(d document, heldOutFraction float64) bool {
	return float64(keyHash("heldout:"+documentKey(d))%1_000_000) < heldOutFraction*1_000_000
}

// splitDocuments partitions docs, keeping their order on both sides.
func splitDocuments(docs []document, heldOutFraction float64) (train, heldOut []document) {
	for _, d := range docs {
		if isHeldOut(d, heldOutFraction) {
			heldOut = append(heldOut, d)
		} else {
			train = append(train, d)
		}
	}
	return train, heldOut
}

// sampleDocuments picks documents in the order of their key hashes (a fixed
// pseudo-random order) until about maxBytes of text, skipping documents
// larger than half the budget so one page does not make the whole sample.
// The picked documents keep their original order.
func sampleDocuments(docs []document, maxBytes int) []document {
	order := make([]int, len(docs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return keyHash("sample:"+documentKey(docs[order[a]])) < keyHash("sample:"+documentKey(docs[order[b]]))
	})
	var picked []int
	total := 0
	for _, i := range order {
		if total >= maxBytes {
			break
		}
		if n := len(docs[i].Text); n <= maxBytes/2 {
			picked = append(picked, i)
			total += n
		}
	}
	sort.Ints(picked)
	out := make([]document, len(picked))
	for k, i := range picked {
		out[k] = docs[i]
	}
	return out
}

func runSplit(args []string) error {
	fs := newFlagSet("split")
	train := fs.String("train", "", "output JSONL of the training side")
	heldOut := fs.String("heldout", "", "output JSONL of the held-out side")
	fraction := fs.Float64("heldout-fraction", 0.1, "fraction of documents held out")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *train == "" || *heldOut == "" || fs.NArg() != 1 || *fraction < 0 || *fraction > 1 {
		return fmt.Errorf("usage: corpusprep split --train OUT.jsonl --heldout OUT.jsonl [--heldout-fraction F] IN.jsonl")
	}
	docs, err := readJSONL(fs.Arg(0))
	if err != nil {
		return err
	}
	trainDocs, heldOutDocs := splitDocuments(docs, *fraction)
	if err := writeJSONL(*train, trainDocs); err != nil {
		return err
	}
	return writeJSONL(*heldOut, heldOutDocs)
}

func runSample(args []string) error {
	fs := newFlagSet("sample")
	out := fs.String("out", "", "output JSONL")
	maxBytes := fs.Int("bytes", 20000, "approximate text bytes of the sample")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 1 || *maxBytes < 2 {
		return fmt.Errorf("usage: corpusprep sample --out OUT.jsonl [--bytes N] IN.jsonl")
	}
	docs, err := readJSONL(fs.Arg(0))
	if err != nil {
		return err
	}
	return writeJSONL(*out, sampleDocuments(docs, *maxBytes))
}
