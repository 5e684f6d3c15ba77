// gen_goldens.js builds the test tokenizers of package tokenizer with Hugging
// Face's own Node binding (npm "tokenizers") and records golden encodings.
//
//   node gen_goldens.js train    # (re)train the HF-made test tokenizers
//   node gen_goldens.js golden   # encode/decode testdata/texts.json with every
//                                # testdata/*.tokenizer.json, write *.golden.json
//
// Run it through regen_goldens.sh, which also retrains the tokenizer made by
// our own Go trainer in between the two steps. NODE_PATH must point at a
// node_modules that holds "tokenizers" (see regen_goldens.sh).
"use strict";
const fs = require("fs");
const path = require("path");
const tk = require("tokenizers");

const testdata = path.join(__dirname, "..", "testdata");
const corpus = path.join(testdata, "corpus.txt");

// Merges kept per trained model: enough to cover whole words of the corpus,
// small enough that each tokenizer.json stays far under 1 MB.
const maxMerges = 1500;

function trainRaw(preTokenizer) {
  const t = new tk.Tokenizer(tk.BPE.empty());
  t.setPreTokenizer(preTokenizer);
  t.train([corpus]);
  const json = JSON.parse(saveToString(t));
  return json.model;
}

function saveToString(t) {
  const tmp = path.join(require("os").tmpdir(), `tok-${process.pid}.json`);
  t.save(tmp);
  const s = fs.readFileSync(tmp, "utf8");
  fs.unlinkSync(tmp);
  return s;
}

// buildVocab assigns ids: `head` tokens first, then the kept alphabet, then
// the result of every kept merge (in merge order), then `tail` tokens.
function buildVocab(head, alphabet, merges, tail) {
  const vocab = {};
  const add = (tok) => {
    if (!(tok in vocab)) vocab[tok] = Object.keys(vocab).length;
  };
  head.forEach(add);
  alphabet.forEach(add);
  const kept = [];
  for (const [a, b] of merges) {
    if (kept.length === maxMerges) break;
    if (!(a in vocab) || !(b in vocab)) continue;
    kept.push([a, b]);
    add(a + b);
  }
  tail.forEach(add);
  return { vocab, merges: kept };
}

function addedToken(id, content) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

function bpeModel(vocab, merges, opts) {
  return Object.assign(
    {
      type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false,
    },
    opts, { vocab, merges });
}

function template(specials, before, after) {
  const seq = [];
  before.forEach((id) => seq.push({ SpecialToken: { id, type_id: 0 } }));
  seq.push({ Sequence: { id: "A", type_id: 0 } });
  after.forEach((id) => seq.push({ SpecialToken: { id, type_id: 0 } }));
  const special_tokens = {};
  for (const [tok, id] of Object.entries(specials)) special_tokens[tok] = { id: tok, ids: [id], tokens: [tok] };
  return { type: "TemplateProcessing", single: seq, pair: seq, special_tokens };
}

function write(name, json) {
  const file = path.join(testdata, `${name}.tokenizer.json`);
  fs.writeFileSync(file, JSON.stringify(json));
  // Loading back proves HF accepts the layout.
  tk.Tokenizer.fromFile(file);
  console.log(`wrote ${file} (${fs.statSync(file).size} bytes)`);
}

function wrap(model, parts) {
  return Object.assign({ version: "1.0", truncation: null, padding: null }, parts, { model });
}

function trainByteLevel() {
  // GPT-2 pipeline. HF's default trainer only keeps bytes it saw, so the full
  // 256-symbol byte alphabet is seeded here, as GPT-2's vocab has it.
  const raw = trainRaw(tk.byteLevelPreTokenizer(true, true));
  const { vocab, merges } = buildVocab([], tk.byteLevelAlphabet().sort(), raw.merges, ["<|endoftext|>"]);
  const eot = vocab["<|endoftext|>"];
  write("bytelevel-hf", wrap(bpeModel(vocab, merges, {}), {
    added_tokens: [addedToken(eot, "<|endoftext|>")],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
  }));
}

function trainSentencePiece() {
  const raw = trainRaw(tk.metaspacePreTokenizer("▁", "always", true));
  // Characters seen once are left out of the alphabet so that byte_fallback
  // (or <unk>) is exercised by real CJK/Hindi/Arabic text, not only emoji.
  const freq = {};
  for (const ch of fs.readFileSync(corpus, "utf8").replace(/ /g, "▁")) freq[ch] = (freq[ch] || 0) + 1;
  const alphabet = Object.keys(raw.vocab).filter((t) => [...t].length === 1 && (freq[t] || 0) >= 2);
  // Llama's and Gemma's vocabularies merge runs of "▁" before anything else
  // ("▁▁" is Llama 2's id 259). Putting those merges first makes the goldens
  // tell Metaspace split:false (runs merge across words) from split:true.
  raw.merges = [["▁", "▁"], ["▁▁", "▁▁"], ["▁▁▁▁", "▁▁▁▁"], ...raw.merges];
  const bytes = [...Array(256).keys()].map((b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);

  // Llama 2: Prepend + Replace normalizer, no pre-tokenizer, byte fallback.
  {
    const { vocab, merges } = buildVocab(["<unk>", "<s>", "</s>", ...bytes], alphabet, raw.merges, []);
    write("llama-sp", wrap(bpeModel(vocab, merges, { unk_token: "<unk>", fuse_unk: true, byte_fallback: true }), {
      added_tokens: [addedToken(0, "<unk>"), addedToken(1, "<s>"), addedToken(2, "</s>")],
      normalizer: { type: "Sequence", normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" }] },
      pre_tokenizer: null,
      post_processor: template({ "<s>": 1 }, ["<s>"], []),
      decoder: { type: "Sequence", decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" }, { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 }] },
    }));
  }
  // Gemma: Replace normalizer without Prepend, <pad> <eos> <bos> <unk> first.
  {
    const { vocab, merges } = buildVocab(["<pad>", "<eos>", "<bos>", "<unk>", ...bytes], alphabet, raw.merges, []);
    write("gemma-sp", wrap(bpeModel(vocab, merges, { unk_token: "<unk>", fuse_unk: true, byte_fallback: true }), {
      added_tokens: [addedToken(0, "<pad>"), addedToken(1, "<eos>"), addedToken(2, "<bos>"), addedToken(3, "<unk>")],
      normalizer: { type: "Replace", pattern: { String: " " }, content: "▁" },
      pre_tokenizer: null,
      post_processor: template({ "<bos>": 2 }, ["<bos>"], []),
      decoder: { type: "Sequence", decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" }, { type: "Fuse" }] },
    }));
  }
  // Metaspace pre-tokenizer with split:false and prepend_scheme "first" (what
  // transformers emits for non-legacy Llama), a Regex Replace normalizer, no
  // byte fallback (so <unk> fusing is exercised) and ignore_merges.
  {
    const { vocab, merges } = buildVocab(["<unk>", "<s>", "</s>"], alphabet, raw.merges, []);
    write("metaspace-sp", wrap(bpeModel(vocab, merges, { unk_token: "<unk>", fuse_unk: true, ignore_merges: true }), {
      added_tokens: [addedToken(0, "<unk>"), addedToken(1, "<s>"), addedToken(2, "</s>")],
      normalizer: { type: "Sequence", normalizers: [
        { type: "NFKC" },
        { type: "Replace", pattern: { Regex: " {2,}" }, content: " " }] },
      pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false },
      post_processor: template({ "<s>": 1, "</s>": 2 }, ["<s>"], ["</s>"]),
      decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false },
    }));
  }
}

async function golden() {
  const texts = JSON.parse(fs.readFileSync(path.join(testdata, "texts.json"), "utf8"));
  const files = fs.readdirSync(testdata).filter((f) => f.endsWith(".tokenizer.json")).sort();
  for (const f of files) {
    const t = tk.Tokenizer.fromFile(path.join(testdata, f));
    const cases = [];
    for (const text of texts) {
      const plain = await t.encode(text, null, { addSpecialTokens: false });
      const special = await t.encode(text, null, { addSpecialTokens: true });
      const ids = plain.getIds();
      cases.push({
        text,
        ids,
        ids_special: special.getIds(),
        decoded: await t.decode(ids, false),
        decoded_special_skipped: await t.decode(special.getIds(), true),
      });
    }
    const out = path.join(testdata, f.replace(".tokenizer.json", ".golden.json"));
    const version = require("tokenizers/package.json").version;
    fs.writeFileSync(out, JSON.stringify({ tokenizer: f, hf_tokenizers_npm: version, cases }, null, 1) + "\n");
    console.log(`wrote ${out}`);
  }
}

const mode = process.argv[2];
if (mode === "train") {
  trainByteLevel();
  trainSentencePiece();
} else if (mode === "golden") {
  golden().catch((e) => { console.error(e); process.exit(1); });
} else {
  console.error("usage: node gen_goldens.js train|golden");
  process.exit(2);
}
