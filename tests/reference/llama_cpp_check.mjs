// llama.cpp itself, through node-llama-cpp (pinned 3.21.1, installed by
// packaging/test-refs-llama.sh), as the reference for our GGUF exports
// (tests/test_gguf.cpp, docs/gguf.md).
//
//   node llama_cpp_check.mjs REQUEST.json      → one JSON object on stdout
//
// REQUEST: {
//   "model": "model.gguf", "lora": ["adapter.gguf", ...] (optional, scale 1),
//   "context": N,                                  context slots (a few more than the longest input)
//   "tokenize": ["text", ...],                     ids llama.cpp gives (no BOS, specials not parsed)
//   "generate": [{"ids": [...], "max_tokens": N}], greedy continuations (ids, the end token excluded)
//   "score": [[ids...], ...]                       per-token log-probabilities of each next id
// }
// Log-probabilities: node-llama-cpp normalises its probabilities with a float32
// sum, so they are re-normalised here in double (log p − log Σp) over the whole
// vocabulary (the greedy sampler keeps every candidate; checked below).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const dir = process.env.DROPLORA_LLAMA_NPM ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? "", ".cache"), "droplora-test-npm", "llama");
const require = createRequire(path.join(dir, "package.json"));
const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));

const req = JSON.parse(readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, progressLogs: false,
                               logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: req.model });
// An f32 KV cache (llama.cpp's default is f16) so that the comparison measures the export, not the cache.
const contextOptions = { contextSize: req.context ?? 256, sequences: 1, flashAttention: false,
                         experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" };
if (req.lora?.length) contextOptions.lora = { adapters: req.lora.map((filePath) => ({ filePath, scale: 1 })) };
const context = await model.createContext(contextOptions);
const sequence = context.getSequence();
const meta = model.fileInfo.metadata ?? {};
const vocab = meta.llama?.vocab_size ?? meta.tokenizer?.ggml?.tokens?.length;
const eos = model.tokens.eos;
const out = { vocab_size: vocab, bos: model.tokens.bos, eos };

out.tokenize = (req.tokenize ?? []).map((t) => Array.from(model.tokenize(t, false)));

out.generate = [];
for (const g of req.generate ?? []) {
    await sequence.clearHistory();
    const ids = [];
    for await (const token of sequence.evaluate(g.ids, { temperature: 0 })) {
        if (token === eos || model.isEogToken?.(token)) break;
        ids.push(token);
        if (ids.length >= g.max_tokens) break;
    }
    out.generate.push(ids);
}

out.score = [];
for (const ids of req.score ?? []) {
    await sequence.clearHistory();
    const input = ids.map((t, i) => (i + 1 < ids.length ? [t, { generateNext: { probabilities: true } }] : t));
    const res = await sequence.controlledEvaluate(input);
    const logprobs = [];
    let candidates = Infinity;
    for (let i = 0; i + 1 < ids.length; ++i) {
        const probs = res[i]?.next?.probabilities;
        if (probs == null) throw new Error(`no probabilities at position ${i}`);
        candidates = Math.min(candidates, probs.size);
        let sum = 0;
        for (const p of probs.values()) sum += p;
        const p = probs.get(ids[i + 1]) ?? 0;
        logprobs.push(Math.log(p) - Math.log(sum));
    }
    const mean = logprobs.reduce((a, b) => a + b, 0) / Math.max(1, logprobs.length);
    out.score.push({ mean_logprob: mean, logprobs, min_candidates: candidates });
}

await context.dispose();
await model.dispose();
process.stdout.write(JSON.stringify(out) + "\n");
