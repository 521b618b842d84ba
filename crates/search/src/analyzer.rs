//! How text becomes search terms, the same for records and queries.
//!
//! Latin text is split into runs of letters and runs of digits, lower-cased: `CLDN18.2`,
//! `Claudin 18.2` and `claudin-18.2` all end in `18`, `2`, and `CAR-T` is `car`, `t`, so a
//! phrase of the query's pieces finds every spelling. Runs of Chinese characters are
//! segmented into words by jieba (its dictionary, with the term table's words added so
//! that they stay whole).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use jieba_rs::Jieba;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The tokenizer's name in the index.
pub const NAME: &str = "cellpath";

/// jieba's own dictionary (jieba-rs 0.11, `src/data/dict.txt`, MIT; `data/PROVENANCE.md`),
/// shipped here raw-deflated: jieba-rs compresses it with zstd at compile time, which built
/// zstd's C library twice per profile for a file that never changes.
const DICT: &[u8] = include_bytes!("../data/jieba-dict.txt.deflate");

static JIEBA: LazyLock<Jieba> = LazyLock::new(|| {
    // The bytes are fixed at build time and a test reads them, so neither step can fail at
    // run time unless the file in the repository is damaged.
    let dict = miniz_oxide::inflate::decompress_to_vec(DICT)
        .expect("the shipped jieba dictionary inflates");
    let mut jieba =
        Jieba::with_dict(&mut dict.as_slice()).expect("the shipped jieba dictionary reads");
    for group in crate::terms::GROUPS {
        for zh in group.zh {
            jieba.add_word(zh, Some(50_000), None);
        }
    }
    jieba
});

/// True for the Han characters (and the CJK punctuation block is not included).
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2EBEF)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Digit,
    Han,
    Other,
}

fn class(c: char) -> Class {
    // Most of a record is ASCII: decided without the Unicode tables.
    if c.is_ascii() {
        return if c.is_ascii_alphabetic() {
            Class::Letter
        } else if c.is_ascii_digit() {
            Class::Digit
        } else {
            Class::Other
        };
    }
    if is_han(c) {
        Class::Han
    } else if c.is_numeric() {
        Class::Digit
    } else if c.is_alphabetic() {
        Class::Letter
    } else {
        Class::Other
    }
}

/// A term with where it stands in the text (byte offsets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub from: usize,
    pub to: usize,
}

/// The terms of a text, in order.
pub fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let kind = class(c);
        if kind == Class::Other {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, next)) = chars.peek() {
            if class(next) != kind {
                break;
            }
            end = i + next.len_utf8();
            chars.next();
        }
        let run = &text[start..end];
        if kind == Class::Han {
            for word in JIEBA.cut(run, true) {
                out.push(Piece {
                    text: word.word.to_owned(),
                    from: start + word.byte_start,
                    to: start + word.byte_end,
                });
            }
        } else {
            out.push(Piece {
                text: run.to_lowercase(),
                from: start,
                to: end,
            });
        }
    }
    out
}

/// The terms of a text, without their places.
pub fn terms(text: &str) -> Vec<String> {
    pieces(text).into_iter().map(|p| p.text).collect()
}

/// The term that stands for a group of the term table: `§` never occurs inside a word, so it
/// cannot be a word of a text.
pub fn group_term(id: &str) -> String {
    format!("§{id}")
}

/// FNV-1a: the tag look-ups hash every word of every record, and their keys are short and
/// not chosen by anyone who could attack a map.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

type FnvBuild = std::hash::BuildHasherDefault<Fnv>;

/// The term table's forms as term sequences, for tagging a text while it is indexed.
struct Tags {
    /// A form's terms joined by NUL → the groups it belongs to.
    groups: HashMap<String, Vec<&'static str>, FnvBuild>,
    /// The terms a form ends with: only after one of them is there anything to look up.
    last: HashSet<String, FnvBuild>,
    /// The most terms in one form.
    longest: usize,
}

static TAGS: LazyLock<Tags> = LazyLock::new(|| {
    let mut tags = Tags {
        groups: HashMap::default(),
        last: HashSet::default(),
        longest: 1,
    };
    for g in crate::terms::GROUPS {
        for form in g.en.iter().chain(g.zh) {
            let t = terms(form);
            let Some(last) = t.last() else { continue };
            tags.last.insert(last.clone());
            tags.longest = tags.longest.max(t.len());
            let ids = tags.groups.entry(t.join("\0")).or_default();
            if !ids.contains(&g.id) {
                ids.push(g.id);
            }
        }
    }
    tags
});

/// The tantivy tokenizer: the same terms as [`pieces`], made one at a time into one
/// reused token (indexing allocates nothing per word).
#[derive(Clone, Default)]
pub struct Analyzer;

/// The index's tokenizer: [`Analyzer`]'s terms, and after the last word of any form of the
/// term table the group's own term ([`group_term`]) at the same place. A query for a group
/// then reads one term's postings instead of a phrase per spelling (`HER2`, `ERBB2`,
/// `human epidermal growth factor receptor 2`…): the same studies, found without
/// reading positions.
#[derive(Clone, Default)]
pub struct Tagging;

pub struct Stream<'a> {
    text: &'a str,
    /// Where scanning resumes.
    at: usize,
    next_position: usize,
    token: Token,
    /// The words of the current run of Chinese characters (absolute byte ranges).
    han: Vec<(usize, usize)>,
    han_next: usize,
    /// Whether to add the term table's group terms.
    tagging: bool,
    /// The last words, as a ring of `TAGS.longest` reused strings.
    recent: Vec<String>,
    words: usize,
    /// Group terms still to give at the last word's place.
    groups: Vec<&'static str>,
    key: String,
}

impl<'a> Stream<'a> {
    fn new(text: &'a str, tagging: bool) -> Self {
        Stream {
            text,
            at: 0,
            next_position: 0,
            token: Token::default(),
            han: Vec::new(),
            han_next: 0,
            tagging,
            recent: Vec::new(),
            words: 0,
            groups: Vec::new(),
            key: String::new(),
        }
    }
}

impl Tokenizer for Analyzer {
    type TokenStream<'a> = Stream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Stream<'a> {
        Stream::new(text, false)
    }
}

impl Tokenizer for Tagging {
    type TokenStream<'a> = Stream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Stream<'a> {
        Stream::new(text, true)
    }
}

impl Stream<'_> {
    fn emit(&mut self, from: usize, to: usize, lower: bool) {
        let t = &mut self.token;
        t.offset_from = from;
        t.offset_to = to;
        t.position = self.next_position;
        t.position_length = 1;
        t.text.clear();
        let word = &self.text[from..to];
        if lower && word.is_ascii() {
            t.text.push_str(word);
            t.text.make_ascii_lowercase();
        } else if lower {
            for c in word.chars() {
                t.text.extend(c.to_lowercase());
            }
        } else {
            t.text.push_str(&self.text[from..to]);
        }
        self.next_position += 1;
    }

    /// After a word: remembers it, and finds the forms of the table that end with it.
    fn tag(&mut self) {
        let tags = &*TAGS;
        let n = tags.longest;
        if self.recent.len() < n {
            self.recent.resize(n, String::new());
        }
        let slot = self.words % n;
        self.recent[slot].clear();
        self.recent[slot].push_str(&self.token.text);
        self.words += 1;
        if !tags.last.contains(self.token.text.as_str()) {
            return;
        }
        for len in 1..=n.min(self.words) {
            self.key.clear();
            for k in (0..len).rev() {
                if !self.key.is_empty() {
                    self.key.push('\0');
                }
                self.key.push_str(&self.recent[(self.words - 1 - k) % n]);
            }
            if let Some(ids) = tags.groups.get(self.key.as_str()) {
                for id in ids {
                    if !self.groups.contains(id) {
                        self.groups.push(id);
                    }
                }
            }
        }
    }
}

impl TokenStream for Stream<'_> {
    fn advance(&mut self) -> bool {
        // A group term stands where its form's last word stood.
        if let Some(id) = self.groups.pop() {
            let t = &mut self.token;
            t.text.clear();
            t.text.push('§');
            t.text.push_str(id);
            return true;
        }
        loop {
            if let Some(&(from, to)) = self.han.get(self.han_next) {
                self.han_next += 1;
                self.emit(from, to, false);
                if self.tagging {
                    self.tag();
                }
                return true;
            }
            let rest = &self.text[self.at..];
            let Some((offset, first)) =
                rest.char_indices().find(|(_, c)| class(*c) != Class::Other)
            else {
                self.at = self.text.len();
                return false;
            };
            let kind = class(first);
            let start = self.at + offset;
            let len = self.text[start..]
                .char_indices()
                .find(|(_, c)| class(*c) != kind)
                .map_or(self.text.len() - start, |(i, _)| i);
            let end = start + len;
            self.at = end;
            if kind == Class::Han {
                self.han.clear();
                self.han_next = 0;
                for w in JIEBA.cut(&self.text[start..end], true) {
                    self.han.push((start + w.byte_start, start + w.byte_end));
                }
                continue;
            }
            self.emit(start, end, true);
            if self.tagging {
                self.tag();
            }
            return true;
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_dictionary_is_jiebas() {
        let dict = miniz_oxide::inflate::decompress_to_vec(DICT).expect("inflates");
        assert_eq!(dict.len(), 5_071_843);
        assert_eq!(dict.iter().filter(|b| **b == b'\n').count(), 349_045);
        // Segmentation uses it: a common two-character word stays whole.
        assert!(JIEBA.has_word("我们"));
        let words: Vec<&str> = JIEBA
            .cut("我们在北京", false)
            .iter()
            .map(|t| t.word)
            .collect();
        assert_eq!(words, ["我们", "在", "北京"]);
    }

    #[test]
    fn spellings_of_one_marker_give_the_same_terms() {
        assert_eq!(terms("CLDN18.2"), ["cldn", "18", "2"]);
        assert_eq!(terms("Claudin 18.2"), ["claudin", "18", "2"]);
        assert_eq!(
            terms("claudin18.2-positive"),
            ["claudin", "18", "2", "positive"]
        );
        assert_eq!(terms("CAR-T"), ["car", "t"]);
        assert_eq!(terms("HER2"), terms("HER-2"));
    }

    #[test]
    fn chinese_is_segmented_into_words_and_table_terms_stay_whole() {
        let t = terms("晚期胃癌患者");
        assert!(t.contains(&"胃癌".to_owned()), "{t:?}");
        let t = terms("胃食管结合部腺癌");
        assert!(t.contains(&"胃食管结合部".to_owned()), "{t:?}");
        let t = terms("紧密连接蛋白18.2阳性");
        assert_eq!(t[0], "紧密连接蛋白");
        assert_eq!(&t[1..3], ["18", "2"]);
    }

    #[test]
    fn the_index_tokenizer_gives_the_query_terms() {
        let text = "HER2-positive 胃食管结合部腺癌, Claudin18.2 (CLDN18.2) ≥ 40% — CAR-T细胞";
        let mut a = Analyzer;
        let mut stream = a.token_stream(text);
        let mut got = Vec::new();
        while stream.advance() {
            let t = stream.token();
            got.push((t.text.clone(), t.offset_from, t.offset_to, t.position));
        }
        let want: Vec<(String, usize, usize, usize)> = pieces(text)
            .into_iter()
            .enumerate()
            .map(|(i, p)| (p.text, p.from, p.to, i))
            .collect();
        assert_eq!(got, want);
    }

    /// The tagging tokenizer's terms with their places.
    fn tagged(text: &str) -> Vec<(String, usize)> {
        let mut a = Tagging;
        let mut stream = a.token_stream(text);
        let mut got = Vec::new();
        while stream.advance() {
            let t = stream.token();
            got.push((t.text.clone(), t.position));
        }
        got
    }

    #[test]
    fn a_form_of_the_table_is_tagged_with_its_group_where_it_ends() {
        let got = tagged("HER2-positive gastric cancer, ERBB2 amplified");
        let at = |term: &str| -> Vec<usize> {
            got.iter()
                .filter(|(t, _)| t == term)
                .map(|(_, p)| *p)
                .collect()
        };
        // `her`, `2`: HER2 ends at 1; `erbb`, `2` at 6.
        assert_eq!(at("§her2"), [1, 6], "{got:?}");
        assert_eq!(at("§gastric-cancer"), [4], "{got:?}");
        // `gastric` alone is the organ's group.
        assert_eq!(at("§stomach"), [3], "{got:?}");
        // The words are all there, in place, as the plain analyzer gives them.
        let words: Vec<(String, usize)> = got
            .iter()
            .filter(|(t, _)| !t.starts_with('§'))
            .cloned()
            .collect();
        let plain: Vec<(String, usize)> = pieces("HER2-positive gastric cancer, ERBB2 amplified")
            .into_iter()
            .enumerate()
            .map(|(i, p)| (p.text, i))
            .collect();
        assert_eq!(words, plain);
    }

    #[test]
    fn every_form_tags_its_group_and_half_a_form_does_not() {
        for g in crate::terms::GROUPS {
            for form in g.en.iter().chain(g.zh) {
                let text = format!("before {form} after");
                let term = group_term(g.id);
                assert!(
                    tagged(&text).iter().any(|(t, _)| *t == term),
                    "{form} → {}",
                    g.id
                );
            }
        }
        let got = tagged("her positive");
        assert!(!got.iter().any(|(t, _)| t == "§her2"), "{got:?}");
        assert!(
            tagged("胃癌患者")
                .iter()
                .any(|(t, _)| t == "§gastric-cancer")
        );
    }

    #[test]
    fn offsets_point_at_the_original_text() {
        let text = "Gastric 胃癌 CAR-T";
        for p in pieces(text) {
            assert_eq!(text[p.from..p.to].to_lowercase(), p.text);
        }
    }
}
