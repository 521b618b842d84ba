//! The caregiver's home symptom diary. Any warning sign answers at once with the
//! instruction to call the treating team now, in the patient's language — the signs are
//! those patient materials list for CRS and neurotoxicity after CAR-T. A seizure, a patient
//! who does not respond, or severe trouble breathing is an emergency: call the local
//! emergency number first (120 in mainland China; each site sets its own), then the team. A
//! temperature no living patient has is asked again, never read as "no warning signs".

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
    /// Very sleepy, hard to wake.
    #[serde(default)]
    pub very_sleepy: bool,
    /// Does not respond.
    #[serde(default)]
    pub unresponsive: bool,
    /// Severe trouble breathing (struggling for breath, cannot speak a sentence).
    #[serde(default)]
    pub severe_breathing_trouble: bool,
}

/// The warning signs besides fever, as the caregiver reads them (English, Chinese), the
/// emergencies first: the first [`EMERGENCY_SIGNS`] call for the emergency number.
pub const SIGNS: [(&str, &str); 8] = [
    ("does not respond", "对呼唤无反应"),
    ("a seizure", "抽搐发作"),
    ("severe trouble breathing", "严重呼吸困难"),
    ("very sleepy, hard to wake", "非常嗜睡、难以唤醒"),
    ("confusion", "意识混乱"),
    ("trouble speaking or writing", "说话或书写困难"),
    ("shortness of breath", "气促"),
    ("dizziness", "头晕"),
];

/// How many of [`SIGNS`], from the first, are emergencies.
pub const EMERGENCY_SIGNS: usize = 3;

/// A plausible body temperature for a home reading, °C; anything else is a typing or
/// reading mistake to correct, never a reassurance.
pub const PLAUSIBLE_C: std::ops::RangeInclusive<f64> = 34.0..=43.0;

/// Who to call in an emergency where the patient is: the local emergency number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emergency {
    pub number: String,
}

impl Default for Emergency {
    /// Mainland China's medical emergency number.
    fn default() -> Self {
        Self {
            number: "120".to_owned(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiaryAnswer {
    /// True when the caregiver must call the treating team now.
    pub call_now: bool,
    /// True when they must call the emergency number first.
    pub call_emergency: bool,
    /// The emergency number named in the instruction, when `call_emergency`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergency_number: Option<String>,
    /// True when a value cannot be right and must be measured again.
    pub measure_again: bool,
    /// The signs found, in the patient's language.
    pub signs: Vec<String>,
    pub instruction: String,
}

/// Answers a diary entry in `lang`, naming the site's emergency number where it applies.
pub fn answer(e: &DiaryEntry, lang: Lang, emergency: &Emergency) -> DiaryAnswer {
    let mut signs: Vec<Bi> = Vec::new();
    let implausible = e.temperature_c.filter(|t| !PLAUSIBLE_C.contains(t));
    if let Some(t) = e
        .temperature_c
        .filter(|t| PLAUSIBLE_C.contains(t) && *t >= crate::crs::FEVER_C)
    {
        signs.push(Bi::new(format!("fever {t} °C"), format!("发热 {t} °C")));
    }
    let seen = [
        e.unresponsive,
        e.seizure,
        e.severe_breathing_trouble,
        e.very_sleepy,
        e.confusion,
        e.trouble_speaking_or_writing,
        e.shortness_of_breath,
        e.dizziness,
    ];
    for (on, (en, zh)) in seen.into_iter().zip(SIGNS) {
        if on {
            signs.push(Bi::new(en, zh));
        }
    }
    let call_emergency = e.seizure || e.unresponsive || e.severe_breathing_trouble;
    let call_now = !signs.is_empty();
    let number = &emergency.number;
    let mut instruction = if call_emergency {
        Bi::new(
            format!(
                "Call the emergency number {number} now. Then call the treating team on their 24-hour number, and show the CAR-T wallet card to the emergency staff."
            ),
            format!(
                "请立即拨打急救电话 {number}。随后拨打治疗团队 24 小时电话，并向急救人员出示 CAR-T 随身卡。"
            ),
        )
    } else if call_now {
        Bi::new(
            "Call the treating team now on their 24-hour number. If you cannot reach them, go to the nearest emergency department and show the CAR-T wallet card.",
            "请立即拨打治疗团队 24 小时电话。如无法联系，请前往最近的急诊并出示 CAR-T 随身卡。",
        )
    } else if implausible.is_some() {
        Bi::new("", "")
    } else {
        Bi::new(
            "No warning signs recorded. Keep following the monitoring plan your treating team gave you, and call them if anything changes.",
            "未记录预警症状。请继续按照治疗团队给您的监测计划执行，如有任何变化请致电治疗团队。",
        )
    };
    if let Some(t) = implausible {
        let again = Bi::new(
            format!(
                "A temperature of {t} °C cannot be right: measure again and enter the new reading."
            ),
            format!("体温 {t} °C 不可能正确：请重新测量并输入新的读数。"),
        );
        instruction = if instruction.en.is_empty() {
            again
        } else {
            Bi::new(
                format!("{} {}", instruction.en, again.en),
                format!("{}{}", instruction.zh, again.zh),
            )
        };
    }
    DiaryAnswer {
        call_now,
        call_emergency,
        emergency_number: call_emergency.then(|| number.clone()),
        measure_again: implausible.is_some(),
        signs: signs.iter().map(|s| s.get(lang).to_owned()).collect(),
        instruction: instruction.get(lang).to_owned(),
    }
}
