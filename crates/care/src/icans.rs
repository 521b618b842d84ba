//! ASTCT 2019 ICANS grading for adults, with the ICE score.
//!
//! ICE (10 points): orientation 4, naming 3, following commands 1, writing 1, attention 1.
//! Domains: ICE 7–9 → 1, 3–6 → 2, 0–2 → 3, unarousable and unable to perform ICE → 4;
//! consciousness: awakens spontaneously 1, to voice 2, only to touch 3, unarousable 4;
//! seizure: rapidly resolving or non-convulsive on EEG resolving with intervention 3,
//! prolonged (> 5 min) or repetitive 4; deep focal motor weakness 4; cerebral oedema: focal
//! 3, diffuse 4. The grade is the most severe domain; ICE 10 with nothing else is no ICANS.

use serde::Deserialize;

use crate::{Grading, Reasons};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Consciousness {
    Normal,
    AwakensSpontaneously,
    AwakensToVoice,
    AwakensToTouch,
    Unarousable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Seizure {
    None,
    RapidlyResolving,
    NonconvulsiveEegResolving,
    ProlongedOrRepetitive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MotorWeakness {
    None,
    DeepFocal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CerebralEdema {
    None,
    Focal,
    Diffuse,
}

/// Clinical signs of raised intracranial pressure that the consensus grades 4 beside
/// diffuse oedema on imaging.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PressureSign {
    DecerebratePosturing,
    DecorticatePosturing,
    CranialNerveViPalsy,
    Papilloedema,
    CushingsTriad,
}

impl PressureSign {
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Self::DecerebratePosturing => ("decerebrate posturing", "去大脑强直"),
            Self::DecorticatePosturing => ("decorticate posturing", "去皮层强直"),
            Self::CranialNerveViPalsy => ("cranial nerve VI palsy", "第 VI 对脑神经麻痹"),
            Self::Papilloedema => ("papilloedema", "视乳头水肿"),
            Self::CushingsTriad => ("Cushing's triad", "库欣三联征"),
        }
    }
}

/// The five parts of the ICE score, each within its maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceParts {
    #[serde(deserialize_with = "upto::<_, 4>")]
    pub orientation: u8,
    #[serde(deserialize_with = "upto::<_, 3>")]
    pub naming: u8,
    #[serde(deserialize_with = "upto::<_, 1>")]
    pub commands: u8,
    #[serde(deserialize_with = "upto::<_, 1>")]
    pub writing: u8,
    #[serde(deserialize_with = "upto::<_, 1>")]
    pub attention: u8,
}

impl IceParts {
    pub fn total(self) -> u8 {
        self.orientation + self.naming + self.commands + self.writing + self.attention
    }
}

fn upto<'de, D: serde::Deserializer<'de>, const MAX: u8>(d: D) -> Result<u8, D::Error> {
    let n = i64::deserialize(d)?;
    u8::try_from(n)
        .ok()
        .filter(|n| *n <= MAX)
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is not 0–{MAX}")))
}

/// The ICE score: given whole, given by parts, or not assessable (`ice_score: null`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ice {
    Score(u8),
    Parts(IceParts),
    NotAssessable,
}

impl Ice {
    pub fn score(self) -> Option<u8> {
        match self {
            Self::Score(s) => Some(s),
            Self::Parts(p) => Some(p.total()),
            Self::NotAssessable => None,
        }
    }
}

/// The input of `cellpath grade icans`, exactly as documented.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawIcans")]
pub struct IcansInput {
    pub ice: Ice,
    pub consciousness: Consciousness,
    pub seizure: Seizure,
    pub motor_weakness: MotorWeakness,
    pub cerebral_edema: CerebralEdema,
    /// Clinical signs of raised intracranial pressure (each grades 4).
    pub pressure_signs: Vec<PressureSign>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIcans {
    /// Absent and null differ: null means "cannot be assessed".
    #[serde(default, deserialize_with = "present")]
    ice_score: Option<Option<i64>>,
    #[serde(default)]
    ice: Option<IceParts>,
    consciousness: Consciousness,
    seizure: Seizure,
    motor_weakness: MotorWeakness,
    cerebral_edema: CerebralEdema,
    #[serde(default)]
    pressure_signs: Vec<PressureSign>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

impl TryFrom<RawIcans> for IcansInput {
    type Error = String;
    fn try_from(r: RawIcans) -> Result<Self, String> {
        let ice = match (r.ice_score, r.ice) {
            (Some(_), Some(_)) => return Err("give `ice_score` or `ice`, not both".into()),
            (None, None) => {
                return Err("give `ice_score` (null if not assessable) or `ice` parts".into());
            }
            (Some(None), None) => Ice::NotAssessable,
            (Some(Some(n)), None) => Ice::Score(
                u8::try_from(n)
                    .ok()
                    .filter(|n| *n <= 10)
                    .ok_or_else(|| format!("ice_score {n} is not 0–10"))?,
            ),
            (None, Some(parts)) => Ice::Parts(parts),
        };
        Ok(Self {
            ice,
            consciousness: r.consciousness,
            seizure: r.seizure,
            motor_weakness: r.motor_weakness,
            cerebral_edema: r.cerebral_edema,
            pressure_signs: r.pressure_signs,
        })
    }
}

fn ice_grade(i: &IcansInput, r: &mut Reasons) -> u8 {
    if let Ice::Parts(p) = i.ice {
        r.push(
            format!(
                "ICE {} = orientation {}/4 + naming {}/3 + commands {}/1 + writing {}/1 + attention {}/1",
                p.total(),
                p.orientation,
                p.naming,
                p.commands,
                p.writing,
                p.attention
            ),
            format!(
                "ICE {} = 定向力 {}/4 + 命名 {}/3 + 执行指令 {}/1 + 书写 {}/1 + 注意力 {}/1",
                p.total(),
                p.orientation,
                p.naming,
                p.commands,
                p.writing,
                p.attention
            ),
        );
    }
    let (grade, en, zh) = match i.ice.score() {
        Some(10) => (0, "ICE 10: normal".to_owned(), "ICE 10：正常".to_owned()),
        Some(s @ 7..=9) => (1, format!("ICE {s} (7–9) → 1"), format!("ICE {s}（7–9）→ 1")),
        Some(s @ 3..=6) => (2, format!("ICE {s} (3–6) → 2"), format!("ICE {s}（3–6）→ 2")),
        Some(s) => (3, format!("ICE {s} (0–2) → 3"), format!("ICE {s}（0–2）→ 3")),
        None if i.consciousness == Consciousness::Unarousable => (
            4,
            "ICE cannot be performed: patient unarousable → 4".to_owned(),
            "无法进行 ICE 评估：患者无法唤醒 → 4".to_owned(),
        ),
        None => (
            0,
            "ICE not assessable in a patient who is not unarousable: ICANS cannot be graded \
             without the ICE — assess now (an awake patient who scores 0, e.g. with global \
             aphasia, is grade 3)"
                .to_owned(),
            "患者可唤醒但无法进行 ICE 评估：没有 ICE 无法对 ICANS 分级——请立即评估（清醒患者 ICE 为 0，如完全性失语，为 3 级）"
                .to_owned(),
        ),
    };
    r.push(en, zh);
    grade
}

/// Grades ICANS (adults) by the ASTCT 2019 consensus.
pub fn grade_icans(i: &IcansInput) -> Grading {
    let mut reasons = Reasons::default();
    let ice = ice_grade(i, &mut reasons);
    let (loc, loc_why) = match i.consciousness {
        Consciousness::Normal => (0, None),
        Consciousness::AwakensSpontaneously => (
            1,
            Some((
                "depressed consciousness, awakens spontaneously → 1",
                "意识水平下降，可自行觉醒 → 1",
            )),
        ),
        Consciousness::AwakensToVoice => (
            2,
            Some((
                "depressed consciousness, awakens to voice → 2",
                "意识水平下降，呼唤可醒 → 2",
            )),
        ),
        Consciousness::AwakensToTouch => (
            3,
            Some((
                "awakens only to tactile stimulus → 3",
                "仅对触觉刺激有反应而醒 → 3",
            )),
        ),
        Consciousness::Unarousable => (
            4,
            Some((
                "unarousable or needs vigorous/repetitive stimuli → 4",
                "无法唤醒，或需强烈/反复刺激才能唤醒 → 4",
            )),
        ),
    };
    let (seizure, seizure_why) = match i.seizure {
        Seizure::None => (0, None),
        Seizure::RapidlyResolving => (
            3,
            Some((
                "clinical seizure resolving rapidly → 3",
                "临床癫痫发作，迅速缓解 → 3",
            )),
        ),
        Seizure::NonconvulsiveEegResolving => (
            3,
            Some((
                "non-convulsive seizure on EEG resolving with intervention → 3",
                "脑电图提示非惊厥性癫痫发作，经干预缓解 → 3",
            )),
        ),
        Seizure::ProlongedOrRepetitive => (
            4,
            Some((
                "prolonged (> 5 min) or repetitive seizures without return to baseline → 4",
                "癫痫发作持续（> 5 分钟）或反复发作，其间未恢复至基线 → 4",
            )),
        ),
    };
    let (motor, motor_why) = match i.motor_weakness {
        MotorWeakness::None => (0, None),
        MotorWeakness::DeepFocal => (
            4,
            Some((
                "deep focal motor weakness (hemiparesis, paraparesis) → 4",
                "深部局灶性运动无力（偏瘫、截瘫）→ 4",
            )),
        ),
    };
    let (edema, edema_why) = match i.cerebral_edema {
        CerebralEdema::None => (0, None),
        CerebralEdema::Focal => (
            3,
            Some((
                "focal/local oedema on neuroimaging → 3",
                "神经影像显示局灶性水肿 → 3",
            )),
        ),
        CerebralEdema::Diffuse => (
            4,
            Some((
                "diffuse cerebral oedema on neuroimaging → 4",
                "神经影像显示弥漫性脑水肿 → 4",
            )),
        ),
    };
    for (en, zh) in [loc_why, seizure_why, motor_why, edema_why]
        .into_iter()
        .flatten()
    {
        reasons.push(en, zh);
    }
    let mut pressure = 0;
    for sign in &i.pressure_signs {
        pressure = 4;
        let (en, zh) = sign.describe();
        reasons.push(
            format!("{en}: raised intracranial pressure → 4"),
            format!("{zh}：颅内压升高 → 4"),
        );
    }
    let grade = ice
        .max(loc)
        .max(seizure)
        .max(motor)
        .max(edema)
        .max(pressure);
    let ice_missing = i.ice == Ice::NotAssessable && i.consciousness != Consciousness::Unarousable;
    match (ice_missing, grade) {
        (true, 0) => reasons.push(
            "cannot be graded without the ICE — assess now (not \"no ICANS\")",
            "没有 ICE 无法分级——请立即评估（不是“无 ICANS”）",
        ),
        (true, g) => reasons.push(
            format!(
                "at least grade {g} from the other domains; cannot be fully graded without the ICE — \
                 assess now"
            ),
            format!("依据其他项目至少为 {g} 级；没有 ICE 无法完整分级——请立即评估"),
        ),
        (false, 0) => reasons.push("no ICANS", "无 ICANS"),
        (false, g) => reasons.push(
            format!("grade {g}: the most severe domain"),
            format!("{g} 级：取最严重的项目"),
        ),
    }
    let mut g = Grading::new(grade, reasons);
    g.graded = !ice_missing;
    g
}
