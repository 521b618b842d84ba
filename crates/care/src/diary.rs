//! The caregiver's home symptom diary. Any warning sign answers at once with the
//! instruction to call the treating team now, in the patient's language — the signs are
//! those patient materials list for CRS and neurotoxicity after CAR-T.

use cellpath_domain::text::{Bi, Lang};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiaryEntry {
    /// Highest temperature since the last entry, °C.
    #[serde(default)]
    pub temperature_c: Option<f64>,
    #[serde(default)]
    pub confusion: bool,
    #[serde(default)]
    pub trouble_speaking_or_writing: bool,
    #[serde(default)]
    pub seizure: bool,
    #[serde(default)]
    pub shortness_of_breath: bool,
    #[serde(default)]
    pub dizziness: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiaryAnswer {
    /// True when the caregiver must call the treating team now.
    pub call_now: bool,
    /// The signs found, in the patient's language.
    pub signs: Vec<String>,
    pub instruction: String,
}

/// Answers a diary entry in `lang`.
pub fn answer(e: &DiaryEntry, lang: Lang) -> DiaryAnswer {
    let mut signs: Vec<Bi> = Vec::new();
    if let Some(t) = e.temperature_c.filter(|t| *t >= crate::crs::FEVER_C) {
        signs.push(Bi::new(format!("fever {t} °C"), format!("发热 {t} °C")));
    }
    for (on, en, zh) in [
        (e.confusion, "confusion", "意识混乱"),
        (
            e.trouble_speaking_or_writing,
            "trouble speaking or writing",
            "说话或书写困难",
        ),
        (e.seizure, "a seizure", "抽搐发作"),
        (e.shortness_of_breath, "shortness of breath", "气促"),
        (e.dizziness, "dizziness", "头晕"),
    ] {
        if on {
            signs.push(Bi::new(en, zh));
        }
    }
    let call_now = !signs.is_empty();
    let instruction = if call_now {
        Bi::new(
            "Call the treating team now on their 24-hour number. If you cannot reach them, go to the nearest emergency department and show the CAR-T wallet card.",
            "请立即拨打治疗团队 24 小时电话。如无法联系，请前往最近的急诊并出示 CAR-T 随身卡。",
        )
    } else {
        Bi::new(
            "No warning signs recorded. Keep measuring the temperature twice a day and call if anything changes.",
            "未记录预警症状。请继续每日测两次体温，如有变化请致电。",
        )
    };
    DiaryAnswer {
        call_now,
        signs: signs.iter().map(|s| s.get(lang).to_owned()).collect(),
        instruction: instruction.get(lang).to_owned(),
    }
}
