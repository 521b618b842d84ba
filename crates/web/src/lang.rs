//! The reader's language: `en` or `zh-CN`, from `Accept-Language` or the account.

pub use cellpath_domain::text::Lang;

/// The first language of an `Accept-Language` header that cellpath speaks, by the order of
/// preference the header gives (q-values honoured; ties keep header order).
pub fn from_accept_language(header: &str) -> Option<Lang> {
    let mut ranked: Vec<(f32, usize, Lang)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut bits = part.trim().split(';');
            let tag = bits.next()?.trim().to_ascii_lowercase();
            let q = bits
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                Lang::ZhCn
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                return None;
            };
            (q > 0.0).then_some((q, i, lang))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.first().map(|r| r.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_preferred_language_we_speak() {
        assert_eq!(
            from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Lang::ZhCn)
        );
        assert_eq!(
            from_accept_language("fr-FR, en-GB;q=0.7, zh;q=0.5"),
            Some(Lang::En)
        );
        assert_eq!(
            from_accept_language("en;q=0.2, zh-Hans;q=0.9"),
            Some(Lang::ZhCn)
        );
        assert_eq!(from_accept_language("de, fr"), None);
        assert_eq!(from_accept_language("zh;q=0, en"), Some(Lang::En));
    }
}
