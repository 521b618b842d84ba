//! How text becomes search terms, the same for records and queries.
//!
//! Latin text is split into runs of letters and runs of digits, lower-cased: `CLDN18.2`,
//! `Claudin 18.2` and `claudin-18.2` all end in `18`, `2`, and `CAR-T` is `car`, `t`, so a
//! phrase of the query's pieces finds every spelling. Runs of Chinese characters are
//! segmented into words by jieba (its dictionary, with the term table's words added so
//! that they stay whole).

use std::sync::LazyLock;

use jieba_rs::Jieba;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The tokenizer's name in the index.
pub const NAME: &str = "cellpath";

static JIEBA: LazyLock<Jieba> = LazyLock::new(|| {
    let mut jieba = Jieba::new();
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

/// The tantivy tokenizer: the same terms as [`pieces`], made one at a time into one
/// reused token (indexing allocates nothing per word).
#[derive(Clone, Default)]
pub struct Analyzer;

pub struct Stream<'a> {
    text: &'a str,
    /// Where scanning resumes.
    at: usize,
    next_position: usize,
    token: Token,
    /// The words of the current run of Chinese characters (absolute byte ranges).
    han: Vec<(usize, usize)>,
    han_next: usize,
}

impl Tokenizer for Analyzer {
    type TokenStream<'a> = Stream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Stream<'a> {
        Stream {
            text,
            at: 0,
            next_position: 0,
            token: Token::default(),
            han: Vec::new(),
            han_next: 0,
        }
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
        if lower {
            for c in self.text[from..to].chars() {
                t.text.extend(c.to_lowercase());
            }
        } else {
            t.text.push_str(&self.text[from..to]);
        }
        self.next_position += 1;
    }
}

impl TokenStream for Stream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            if let Some(&(from, to)) = self.han.get(self.han_next) {
                self.han_next += 1;
                self.emit(from, to, false);
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

    #[test]
    fn offsets_point_at_the_original_text() {
        let text = "Gastric 胃癌 CAR-T";
        for p in pieces(text) {
            assert_eq!(text[p.from..p.to].to_lowercase(), p.text);
        }
    }
}
