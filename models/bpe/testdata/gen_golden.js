// Regenerates golden.json: Hugging Face's own tokenizers library (npm
// package "tokenizers", Node binding of the Rust crate) encodes texts.json
// with tokenizer.json (written by TestGolden with -update).
//
//   cd models/bpe/testdata && npm install --prefix /tmp/bperef tokenizers@0.23.2 \
//     && NODE_PATH=/tmp/bperef/node_modules node gen_golden.js
const fs = require("fs");
const { Tokenizer } = require("tokenizers");
const texts = JSON.parse(fs.readFileSync(__dirname + "/texts.json", "utf8"));
(async () => {
  const tok = Tokenizer.fromFile(__dirname + "/tokenizer.json");
  const out = [];
  for (const text of texts) {
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    const ids = enc.getIds();
    const decoded = await tok.decode(ids, true);
    out.push({ text, ids, decoded });
  }
  fs.writeFileSync(__dirname + "/golden.json", JSON.stringify(out, null, 1) + "\n");
  console.log(`wrote ${out.length} golden encodings`);
})();
