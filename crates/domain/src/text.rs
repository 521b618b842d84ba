//! Bilingual text: every criterion, explanation and request is in English and Simplified
//! Chinese.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    ZhCn,
}

impl Lang {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "en" => Some(Self::En),
            "zh-CN" | "zh" | "zh-Hans" => Some(Self::ZhCn),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::ZhCn => "zh-CN",
        }
    }
}

/// A text in both languages. The catalogue writes it as `{ en = "…", zh-CN = "…" }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bi {
    pub en: String,
    #[serde(rename = "zh-CN")]
    pub zh: String,
}

impl Bi {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            zh: zh.into(),
        }
    }
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::ZhCn => &self.zh,
        }
    }
    pub fn is_complete(&self) -> bool {
        !self.en.trim().is_empty() && !self.zh.trim().is_empty()
    }
}
