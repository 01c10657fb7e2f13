// Greedy answers of llama.cpp (node-llama-cpp 3.21.1, installed by packaging/test-refs-llama.sh) to text
// prompts, for the README's transcript of the demo in llama.cpp; tests/test_gguf.cpp checks the same on ids.
//   node tests/reference/llama_cpp_answer.mjs MODEL.gguf (ADAPTER.gguf | -) PROMPT...
// Prints one JSON string per prompt: up to 16 tokens after BOS + the prompt, stopped at an end-of-generation token.
import { createRequire } from "node:module";
import path from "node:path";
const dir = process.env.DROPLORA_LLAMA_NPM ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? "", ".cache"), "droplora-test-npm", "llama");
const require = createRequire(path.join(dir, "package.json"));
const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));
const [modelPath, loraPath, ...prompts] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, progressLogs: false, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });
const opts = { contextSize: 256, sequences: 1 };
if (loraPath && loraPath !== "-") opts.lora = { adapters: [{ filePath: loraPath, scale: 1 }] };
const context = await model.createContext(opts);
const sequence = context.getSequence();
for (const p of prompts) {
  await sequence.clearHistory();
  const ids = [model.tokens.bos, ...model.tokenize(p, false)];
  const out = [];
  for await (const t of sequence.evaluate(ids, { temperature: 0 })) {
    if (t === model.tokens.eos || model.isEogToken?.(t)) break;
    out.push(t);
    if (out.length >= 16) break;
  }
  console.log(JSON.stringify(model.detokenize(out)));
}
await context.dispose();
