// Runs an nrgraph-exported model.onnx with onnxruntime-node (an ONNX
// consumer independent of nrgraph's Go code) and prints the logits as JSON.
//   node scripts/run_onnx.js MODEL.onnx '{"input_ids":[[1,2]],"attention_mask":[[1,1]]}'
// NODE_PATH must reach onnxruntime-node (scripts/install-ort-node.sh).
const ort = require("onnxruntime-node");
(async () => {
  const [model, json] = process.argv.slice(2);
  const input = JSON.parse(json);
  const rows = input.input_ids.length, cols = input.input_ids[0].length;
  const ids = new ort.Tensor("int64", BigInt64Array.from(input.input_ids.flat().map(BigInt)), [rows, cols]);
  const mask = new ort.Tensor("float32", Float32Array.from(input.attention_mask.flat()), [rows, cols]);
  const session = await ort.InferenceSession.create(model);
  const out = await session.run({ input_ids: ids, attention_mask: mask });
  process.stdout.write(JSON.stringify({ dims: out.logits.dims, data: Array.from(out.logits.data) }));
})().catch((e) => { console.error(e); process.exit(1); });
