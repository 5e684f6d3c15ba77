package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	goruntime "runtime"

	"github.com/nrgraph/nrgraph/data"
	"github.com/nrgraph/nrgraph/models/tokenizer"
)

func init() {
	register(subcommand{name: "tokenize", summary: "text / JSONL → token shards for nrgraph train", run: runTokenize})
}

func runTokenize(args []string) error {
	fs := newFlagSet("tokenize", "--tokenizer tokenizer.json --out STEM INPUTS...")
	tokPath := fs.String("tokenizer", "", "tokenizer.json (the model's, e.g. BUILD_DIR/tokenizer.json)")
	out := fs.String("out", "", "output shard stem: writes STEM.bin + STEM.json (and STEM.val.* with --split)")
	field := fs.String("field", "text", "JSONL field holding the text")
	split := fs.Float64("split", 0, "fraction of documents held out into STEM.val (by document hash; e.g. 0.01)")
	workers := fs.Int("workers", goruntime.NumCPU(), "parallel tokenizer workers (output does not depend on it)")
	noBOS := fs.Bool("no-bos", false, "do not prepend the tokenizer's BOS token to each document")
	noEOS := fs.Bool("no-eos", false, "do not append the tokenizer's EOS token to each document")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tokPath == "" || *out == "" || fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("--tokenizer, --out and at least one input are required")
	}
	tok, err := tokenizer.LoadFile(*tokPath)
	if err != nil {
		return err
	}
	bos, eos := tok.BOS, tok.EOS
	if *noBOS {
		bos = -1
	}
	if *noEOS {
		eos = -1
	}
	fmt.Fprintf(os.Stderr, "each document: %s + text + %s\n", specialLabel(tok, bos, "no BOS"), specialLabel(tok, eos, "no EOS"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	st, err := data.Tokenize(ctx, data.TokenizeOptions{Inputs: fs.Args(), Field: *field, Out: *out, Tokenizer: tok,
		TokenizerHash: tok.Hash, VocabSize: tok.VocabSize(), BOS: bos, EOS: eos, Split: *split, Workers: *workers, Progress: os.Stderr})
	if err != nil {
		return err
	}
	fmt.Printf("%d documents, %d tokens -> %s.bin", st.Documents, st.Tokens, *out)
	if *split > 0 {
		fmt.Printf("; held out %d documents, %d tokens -> %s.val.bin", st.ValDocuments, st.ValTokens, *out)
	}
	fmt.Printf("\n%.1f MB of text in %.1fs (%.2f MB/s)\n", float64(st.Bytes)/1e6, st.Seconds, float64(st.Bytes)/1e6/st.Seconds)
	return nil
}

// specialLabel names a BOS/EOS id for the user ("<bos> (2)").
func specialLabel(tok *tokenizer.File, id int, none string) string {
	if id < 0 {
		return none
	}
	text, _ := tok.Token(id)
	return fmt.Sprintf("%q (%d)", text, id)
}
