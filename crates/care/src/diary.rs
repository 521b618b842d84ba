//! The caregiver's home symptom diary. Any warning sign answers at once with the
//! instruction to call the treating team now, in the patient's language, with the team's
//! 24-hour number when the plan records it — the signs are those patient materials list for
//! CRS and neurotoxicity after CAR-T. A seizure, a patient who does not respond, or severe
//! trouble breathing is an emergency: call the local emergency number first (120 in mainland
//! China; each site sets its own), then the team. A temperature no living patient has is
//! asked again, never read as "no warning signs"; one typed in °F is converted and said so.

use cellpath_domain::text::{Bi, Lang};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiaryEntry {
    /// Highest temperature since the last entry, °C.
    #[serde(default)]
    pub temperature_c: Option<f64>,
    /// The same in °F, when that is what the thermometer shows (give one of the two).
    #[serde(default)]
    pub temperature_f: Option<f64>,
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
    /// Vomiting blood, or vomit that looks like coffee grounds.
    #[serde(default)]
    pub vomiting_blood: bool,
    /// Black, tarry or bloody stools.
    #[serde(default)]
    pub black_or_bloody_stools: bool,
    /// Severe or worsening pain in the belly.
    #[serde(default)]
    pub severe_abdominal_pain: bool,
    /// Vomiting or diarrhoea so that they cannot eat or drink.
    #[serde(default)]
    pub cannot_keep_food_or_drink: bool,
    /// Shaking chills (rigors).
    #[serde(default)]
    pub shaking_chills: bool,
}

/// A warning sign the diary asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sign {
    /// The entry's field (and the pages' form field).
    pub key: &'static str,
    /// As the caregiver reads it.
    pub en: &'static str,
    pub zh: &'static str,
    /// An emergency: call the local emergency number first, then the team.
    pub emergency: bool,
}

const fn sign(key: &'static str, en: &'static str, zh: &'static str, emergency: bool) -> Sign {
    Sign {
        key,
        en,
        zh,
        emergency,
    }
}

/// The warning signs besides the temperature, emergencies first. Neurological and breathing
/// signs are those patient materials list for CRS and neurotoxicity after CAR-T; the
/// gastrointestinal ones are there because damage to the stomach lining (bleeding,
/// perforation) is a main risk of a Claudin18.2-directed therapy (`docs/safety.md`).
pub const SIGNS: [Sign; 13] = [
    sign("unresponsive", "does not respond", "对呼唤无反应", true),
    sign("seizure", "a seizure", "抽搐发作", true),
    sign(
        "severe_breathing_trouble",
        "severe trouble breathing",
        "严重呼吸困难",
        true,
    ),
    sign(
        "vomiting_blood",
        "vomiting blood or coffee-ground vomit",
        "呕血或呕吐咖啡渣样物",
        true,
    ),
    sign(
        "very_sleepy",
        "very sleepy, hard to wake",
        "非常嗜睡、难以唤醒",
        false,
    ),
    sign("confusion", "confusion", "意识混乱", false),
    sign(
        "trouble_speaking_or_writing",
        "trouble speaking or writing",
        "说话或书写困难",
        false,
    ),
    sign("shortness_of_breath", "shortness of breath", "气促", false),
    sign("dizziness", "dizziness", "头晕", false),
    sign(
        "black_or_bloody_stools",
        "black or bloody stools",
        "黑便或便血",
        false,
    ),
    sign(
        "severe_abdominal_pain",
        "severe or worsening belly pain",
        "剧烈或加重的腹痛",
        false,
    ),
    sign(
        "cannot_keep_food_or_drink",
        "vomiting or diarrhoea so they cannot eat or drink",
        "呕吐或腹泻以致无法进食饮水",
        false,
    ),
    sign("shaking_chills", "shaking chills", "寒战", false),
];

impl DiaryEntry {
    /// Whether the sign of this key was reported.
    pub fn has(&self, key: &str) -> bool {
        match key {
            "unresponsive" => self.unresponsive,
            "seizure" => self.seizure,
            "severe_breathing_trouble" => self.severe_breathing_trouble,
            "vomiting_blood" => self.vomiting_blood,
            "very_sleepy" => self.very_sleepy,
            "confusion" => self.confusion,
            "trouble_speaking_or_writing" => self.trouble_speaking_or_writing,
            "shortness_of_breath" => self.shortness_of_breath,
            "dizziness" => self.dizziness,
            "black_or_bloody_stools" => self.black_or_bloody_stools,
            "severe_abdominal_pain" => self.severe_abdominal_pain,
            "cannot_keep_food_or_drink" => self.cannot_keep_food_or_drink,
            "shaking_chills" => self.shaking_chills,
            _ => false,
        }
    }

    /// Marks the sign of this key reported; false for a key that is not a sign.
    pub fn set(&mut self, key: &str) -> bool {
        let field = match key {
            "unresponsive" => &mut self.unresponsive,
            "seizure" => &mut self.seizure,
            "severe_breathing_trouble" => &mut self.severe_breathing_trouble,
            "vomiting_blood" => &mut self.vomiting_blood,
            "very_sleepy" => &mut self.very_sleepy,
            "confusion" => &mut self.confusion,
            "trouble_speaking_or_writing" => &mut self.trouble_speaking_or_writing,
            "shortness_of_breath" => &mut self.shortness_of_breath,
            "dizziness" => &mut self.dizziness,
            "black_or_bloody_stools" => &mut self.black_or_bloody_stools,
            "severe_abdominal_pain" => &mut self.severe_abdominal_pain,
            "cannot_keep_food_or_drink" => &mut self.cannot_keep_food_or_drink,
            "shaking_chills" => &mut self.shaking_chills,
            _ => return false,
        };
        *field = true;
        true
    }
}

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
    /// The treating team's 24-hour number, when the plan records one and a call is advised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_phone: Option<String>,
    /// True when a value cannot be right and must be measured again.
    pub measure_again: bool,
    /// The signs found, in the patient's language.
    pub signs: Vec<String>,
    pub instruction: String,
    /// What was reported, in the reader's words: "You reported: confusion, 39.6 °C."
    pub reported: String,
    /// How a temperature in °F was read: "103 °F = 39.4 °C".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature_note: Option<String>,
}

impl DiaryEntry {
    /// The temperature in °C, converted from °F when that is what was given (to a tenth).
    pub fn celsius(&self) -> Option<f64> {
        self.temperature_c
            .or_else(|| self.temperature_f.map(fahrenheit_to_celsius))
    }
}

/// °F to °C, to a tenth of a degree.
pub fn fahrenheit_to_celsius(f: f64) -> f64 {
    ((f - 32.0) * 5.0 / 9.0 * 10.0).round() / 10.0
}

/// A temperature as a person typed it: "39.6", "39,6", "39.6 °C", "103F", "103 °F", "℃"/"℉",
/// full-width digits. Without a unit, 25–45 is read as °C and 77–113 as °F (said so in the
/// answer); anything else is not a body temperature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TypedTemperature {
    Celsius(f64),
    Fahrenheit(f64),
}

/// Why a typed temperature was not read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TemperatureError {
    /// Not a number.
    NotANumber,
    /// A number no thermometer on a person shows, in either unit.
    NotABodyTemperature(f64),
}

impl TemperatureError {
    /// What to tell the person, in their language.
    pub fn words(self) -> Bi {
        match self {
            Self::NotANumber => Bi::new(
                "Type the temperature as a number, such as 38.5 (°C) or 101.3 (°F).",
                "请以数字填写体温，例如 38.5（°C）或 101.3（°F）。",
            ),
            Self::NotABodyTemperature(v) => Bi::new(
                format!(
                    "{v} is not a body temperature in °C or °F: measure again and type the reading, such as 38.5 (°C) or 101.3 (°F)."
                ),
                format!(
                    "{v} 不是摄氏或华氏的体温读数：请重新测量并填写读数，例如 38.5（°C）或 101.3（°F）。"
                ),
            ),
        }
    }
}

/// Reads a typed temperature (see [`TypedTemperature`]).
pub fn read_temperature(text: &str) -> Result<TypedTemperature, TemperatureError> {
    // Full-width digits and punctuation as ASCII; a decimal comma as a point.
    let ascii: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' | ',' | '，' => '.',
            '℃' => 'C',
            '℉' => 'F',
            other => other,
        })
        .collect();
    let lower = ascii.to_ascii_lowercase();
    let body = lower.trim_end_matches(|c: char| c.is_whitespace());
    let (number, unit) = if let Some(n) = body.strip_suffix('f') {
        (n, Some(false))
    } else if let Some(n) = body.strip_suffix('c') {
        (n, Some(true))
    } else {
        (body, None)
    };
    let number = number
        .trim_end()
        .trim_end_matches('°')
        .trim_end_matches('º')
        .trim();
    let v: f64 = number.parse().map_err(|_| TemperatureError::NotANumber)?;
    if !v.is_finite() {
        return Err(TemperatureError::NotANumber);
    }
    match unit {
        Some(true) => Ok(TypedTemperature::Celsius(v)),
        Some(false) => Ok(TypedTemperature::Fahrenheit(v)),
        None if (25.0..=45.0).contains(&v) => Ok(TypedTemperature::Celsius(v)),
        None if (77.0..=113.0).contains(&v) => Ok(TypedTemperature::Fahrenheit(v)),
        None => Err(TemperatureError::NotABodyTemperature(v)),
    }
}

/// Below this after lymphodepletion a patient must be seen: below 36 °C is a criterion of the
/// systemic inflammatory response (Bone et al., Chest 1992), the patient is neutropenic, and a
/// low temperature is never a reassurance.
pub const LOW_C: f64 = 36.0;

/// Answers a diary entry in `lang`, naming the site's emergency number where it applies and
/// the treating team's 24-hour number when the plan records one.
pub fn answer(
    e: &DiaryEntry,
    lang: Lang,
    emergency: &Emergency,
    team_phone: Option<&str>,
) -> DiaryAnswer {
    let mut signs: Vec<Bi> = Vec::new();
    let celsius = e.celsius();
    let implausible = celsius.filter(|t| !PLAUSIBLE_C.contains(t));
    if let Some(t) = celsius.filter(|t| PLAUSIBLE_C.contains(t) && *t >= crate::crs::FEVER_C) {
        signs.push(Bi::new(format!("fever {t} °C"), format!("发热 {t} °C")));
    }
    if let Some(t) = celsius.filter(|t| PLAUSIBLE_C.contains(t) && *t < LOW_C) {
        signs.push(Bi::new(
            format!("low temperature {t} °C"),
            format!("体温偏低 {t} °C"),
        ));
    }
    for sg in SIGNS.iter().filter(|sg| e.has(sg.key)) {
        signs.push(Bi::new(sg.en, sg.zh));
    }
    let call_emergency = SIGNS.iter().any(|sg| sg.emergency && e.has(sg.key));
    let call_now = !signs.is_empty();
    let number = &emergency.number;
    let team = match team_phone {
        Some(p) => Bi::new(
            format!("the treating team's 24-hour number, {p}"),
            format!("治疗团队 24 小时电话 {p}"),
        ),
        None => Bi::new(
            "the treating team's 24-hour number (ask your coordinator to add it to your plan in cellpath)",
            "治疗团队 24 小时电话（请协调员将其填入您在 cellpath 的治疗计划）",
        ),
    };
    // In the call-now sentence the team is already named: "their 24-hour number".
    let their = match team_phone {
        Some(p) => Bi::new(
            format!("their 24-hour number, {p}"),
            format!("治疗团队 24 小时电话 {p}"),
        ),
        None => team.clone(),
    };
    let mut instruction = if call_emergency {
        Bi::new(
            format!(
                "Call the emergency number {number} now. Then call {}, and show the CAR-T wallet card to the emergency staff.",
                team.en
            ),
            format!(
                "请立即拨打急救电话 {number}。随后拨打{}，并向急救人员出示 CAR-T 随身卡。",
                team.zh
            ),
        )
    } else if call_now {
        Bi::new(
            format!(
                "Call the treating team now on {}. If you cannot reach them, go to the nearest emergency department and show the CAR-T wallet card.",
                their.en
            ),
            format!(
                "请立即拨打{}。如无法联系，请前往最近的急诊并出示 CAR-T 随身卡。",
                their.zh
            ),
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
    // What was reported, as the reader wrote it: the temperature (converted when in °F),
    // then every sign ticked.
    let temperature_note = match (e.temperature_c, e.temperature_f) {
        (None, Some(f)) => {
            let c = fahrenheit_to_celsius(f);
            Some(Bi::new(
                format!("{f} °F = {c} °C"),
                format!("{f} °F = {c} °C"),
            ))
        }
        _ => None,
    };
    let mut reported: Vec<Bi> = Vec::new();
    if let Some(t) = celsius {
        reported.push(Bi::new(format!("{t} °C"), format!("{t} °C")));
    }
    for sg in SIGNS.iter().filter(|sg| e.has(sg.key)) {
        reported.push(Bi::new(sg.en, sg.zh));
    }
    let reported = if reported.is_empty() {
        Bi::new("You reported: nothing new.", "您报告：无新情况。")
    } else {
        Bi::new(
            format!(
                "You reported: {}.",
                reported
                    .iter()
                    .map(|b| b.en.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "您报告：{}。",
                reported
                    .iter()
                    .map(|b| b.zh.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        )
    };
    DiaryAnswer {
        call_now,
        call_emergency,
        emergency_number: call_emergency.then(|| number.clone()),
        team_phone: team_phone.filter(|_| call_now).map(str::to_owned),
        measure_again: implausible.is_some(),
        signs: signs.iter().map(|s| s.get(lang).to_owned()).collect(),
        instruction: instruction.get(lang).to_owned(),
        reported: reported.get(lang).to_owned(),
        temperature_note: temperature_note.map(|n| n.get(lang).to_owned()),
    }
}
