// Longer than 800 lines: not yet split by area — issue 26 (the use-case layer) splits it; until
// then, new areas go in files of their own beside it (docs/ARCHITECTURE.md, "where a change goes").
//! The `cellpath` binary end to end: the shipped examples, both languages, the exact JSON
//! shape, standard input, and bad input that must exit 2 naming the place.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cellpath(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cellpath"))
        .args(args)
        .current_dir(root())
        .env_remove("CELLPATH_CATALOGUE")
        .output()
        .expect("run cellpath")
}

fn with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cellpath"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    child.wait_with_output().expect("wait")
}

/// The keys of a JSON object, sorted.
fn keys(v: &serde_json::Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const GASTRIC: &str = "examples/cases/gastric-cldn18-eligible.toml";

#[test]
fn screens_the_shipped_example_in_text() {
    let o = cellpath(&["screen", GASTRIC, "--as-of", "2026-11-20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Not medical advice"));
    assert!(out.contains("satri-cel-nmpa"));
    // Best verdicts first: satri-cel (eligible) before zolbetuximab (ineligible: 60% < 75%).
    let satri = out.find("━━ satri-cel-nmpa").expect("satri");
    let zolbe = out.find("━━ zolbetuximab-1l").expect("zolbe");
    assert!(satri < zolbe);
    assert!(
        out.contains(
            "60% of tumour cells stain at ≥2+, which is below the threshold of ≥2+ in ≥75%"
        )
    );
}

#[test]
fn json_has_exactly_the_documented_shape() {
    let o = cellpath(&[
        "screen",
        GASTRIC,
        "--as-of",
        "2026-11-20",
        "--format",
        "json",
        "--programme",
        "satri-cel-nmpa",
        "--programme",
        "zolbetuximab-1l",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(keys(&doc), ["as_of", "disclaimer", "results"]);
    assert!(
        doc["disclaimer"]
            .as_str()
            .is_some_and(|d| d.contains("Not medical advice"))
    );
    assert_eq!(doc["as_of"], "2026-11-20");
    let results = doc["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["programme"], "satri-cel-nmpa");
    assert_eq!(results[0]["verdict"], "eligible");
    assert_eq!(results[1]["verdict"], "ineligible");
    for r in results {
        assert_eq!(
            keys(r),
            [
                "criteria",
                "judgement_pending",
                "programme",
                "verdict",
                "verdict_text"
            ]
        );
        for c in r["criteria"].as_array().expect("criteria") {
            let k = keys(c);
            let unknown = c["status"] == "unknown";
            let judgement = c["kind"] == "clinician-judgement";
            let mut want = vec!["evidence", "explanation", "id", "kind"];
            if judgement {
                want.push("recorded");
            }
            if unknown {
                want.push("request");
            }
            want.extend(["source", "status", "text"]);
            assert_eq!(k, want, "{c}");
            assert!(
                ["inclusion", "exclusion", "clinician-judgement"]
                    .contains(&c["kind"].as_str().expect("kind"))
            );
            assert!(
                ["met", "not-met", "unknown", "not-applicable"]
                    .contains(&c["status"].as_str().expect("status"))
            );
        }
    }
}

#[test]
fn chinese_output() {
    let o = cellpath(&[
        "screen",
        GASTRIC,
        "--as-of",
        "2026-11-20",
        "--lang",
        "zh-CN",
    ]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("非医疗建议"));
    assert!(out.contains("结论: 符合条件"));
    assert!(out.contains("≥2+ 膜染色的肿瘤细胞比例为 60%"));
    let j = cellpath(&[
        "screen",
        GASTRIC,
        "--as-of",
        "2026-11-20",
        "--lang",
        "zh-CN",
        "--format",
        "json",
        "--programme",
        "satri-cel-nmpa",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&j.stdout).expect("json");
    assert_eq!(
        doc["results"][0]["criteria"][1]["text"],
        "成年患者（18 岁及以上）。"
    );
}

#[test]
fn needs_information_names_the_tests() {
    let o = cellpath(&[
        "screen",
        "examples/cases/gej-needs-information.toml",
        "--as-of",
        "2026-11-20",
        "--programme",
        "satri-cel-nmpa",
    ]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("NEEDS INFORMATION"), "{out}");
    assert!(out.contains("in-situ hybridisation"), "HER2 2+ needs ISH");
    assert!(out.contains("43-14A"), "CLDN18.2 IHC request");
    assert!(out.contains("between 0% and 90%"), "{out}");
}

#[test]
fn reads_standard_input_and_fhir() {
    let case = std::fs::read(root().join(GASTRIC)).expect("example");
    let o = with_stdin(
        &["screen", "-", "--as-of", "2026-11-20", "--format", "json"],
        &case,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let fhir = root().join("tests/data/fhir/mcode-ctms/patient_data.json");
    let fhir = fhir.to_str().expect("path");
    // The bundle names two patients: refused with the list, exit 2, until one is named.
    let o = cellpath(&["screen", fhir, "--as-of", "2026-11-20"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("Patient/mCODEMassiveBioPatientExample1004"),
        "{}",
        stderr(&o)
    );
    let o = cellpath(&[
        "screen",
        fhir,
        "--as-of",
        "2026-11-20",
        "--patient",
        "Patient/1e208b6b-77f1-4808-a32b-9f9caf1ec334",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Imported from FHIR"));
    assert!(out.contains("primary breast"), "{out}");
    let example = cellpath(&[
        "screen",
        "examples/fhir/gastric-bundle.json",
        "--as-of",
        "2026-11-20",
        "--format",
        "json",
        "--programme",
        "satri-cel-nmpa",
    ]);
    assert!(example.status.success(), "{}", stderr(&example));
    let doc: serde_json::Value = serde_json::from_slice(&example.stdout).expect("json");
    assert_eq!(doc["results"][0]["verdict"], "eligible", "{doc:#}");
}

#[test]
fn case_import_round_trips_through_validate() {
    let o = cellpath(&[
        "case",
        "import",
        "examples/fhir/gastric-bundle.json",
        "--report",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("Import report"));
    let toml_case = stdout(&o);
    let v = with_stdin(&["case", "validate", "-"], toml_case.as_bytes());
    assert!(v.status.success(), "{}\n{toml_case}", stderr(&v));
    assert!(stdout(&v).contains("stomach"));
}

#[test]
fn bad_input_exits_2_naming_the_place() {
    let bad_toml = "[patient]\nbirth_date = \"1969-03\"\n\n[[ecog]]\nscore = 7\n";
    let o = with_stdin(&["screen", "-"], bad_toml.as_bytes());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("<stdin>:5:"), "{}", stderr(&o));
    assert!(stderr(&o).contains("ECOG"), "{}", stderr(&o));

    let bad_json = "{\n  \"patient\": {\"birth_date\": \"1969-03\"},\n  \"cldn18\": [{\"at_least\": {\"intensity\": \"4+\", \"percent\": 50}}]\n}";
    let o = with_stdin(&["case", "validate", "-"], bad_json.as_bytes());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cldn18[0]"), "{}", stderr(&o));

    let malformed = b"{\"resourceType\": \"Bundle\",\n \"entry\": [,]}";
    let o = with_stdin(&["screen", "-"], malformed);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("<stdin>:2:"), "{}", stderr(&o));

    let o = cellpath(&["screen", GASTRIC, "--programme", "no-such-programme"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown programme `no-such-programme`"));

    let o = cellpath(&["screen", "does/not/exist.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot open does/not/exist.toml"));

    let o = cellpath(&["screen", GASTRIC, "--as-of", "2026-02-30"]);
    assert_eq!(o.status.code(), Some(2));

    let o = with_stdin(&["screen", "-"], &[0xff, 0xfe, 0x00]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("UTF-8"));
}

#[test]
fn programmes_list_and_show() {
    let o = cellpath(&["programmes", "list"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for id in [
        "satri-cel-nmpa",
        "zolbetuximab-1l",
        "ct041-st-01",
        "ct041-st-02",
        "ct041-st-05",
        "ibi343-g-hope-001",
    ] {
        assert!(out.contains(id), "{id}");
    }
    let o = cellpath(&["programmes", "show", "ibi343-g-hope-001"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("rule: (≥ 2 prior lines) and (≤ 4 prior lines)")
            || out.contains("≥ 2 prior lines and ≤ 4 prior lines"),
        "{out}"
    );
    assert!(out.contains("systemic therapy within 28 days"));
    let o = cellpath(&["programmes", "show", "nope"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn catalogue_check_reports_file_and_line() {
    let dir = std::env::temp_dir().join(format!("cellpath-cat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let good = std::fs::read_to_string(root().join("catalogue/satri-cel-nmpa.toml")).expect("cat");
    std::fs::write(dir.join("satri-cel-nmpa.toml"), &good).expect("write");
    let o = cellpath(&["catalogue-check", dir.to_str().expect("dir")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let broken = good.replacen("min_percent = 40", "min_percent = 40, max_percent = 90", 1);
    std::fs::write(dir.join("satri-cel-nmpa.toml"), &broken).expect("write");
    let o = cellpath(&["catalogue-check", dir.to_str().expect("dir")]);
    assert_eq!(o.status.code(), Some(2));
    let line = broken
        .lines()
        .position(|l| l.contains("max_percent"))
        .expect("line")
        + 1;
    assert!(
        stderr(&o).contains(&format!("satri-cel-nmpa.toml:{line}:")),
        "{}",
        stderr(&o)
    );
    // The same folder given to screen refuses to run on a broken catalogue.
    let o = cellpath(&["--catalogue", dir.to_str().expect("dir"), "screen", GASTRIC]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn schema_is_current() {
    let o = cellpath(&["case", "schema"]);
    assert!(o.status.success());
    let committed = std::fs::read_to_string(root().join("docs/case.schema.json"))
        .expect("docs/case.schema.json");
    assert_eq!(
        stdout(&o),
        committed,
        "docs/case.schema.json is stale: run `cargo run -- case schema > docs/case.schema.json`"
    );
}

#[test]
fn grades_the_worked_examples() {
    for (kind, file, grade) in [
        ("crs", "examples/grading/crs-grade-3.json", 3),
        ("crs", "examples/grading/crs-masked-fever-high-flow.json", 3),
        ("icans", "examples/grading/icans-ice-parts.json", 2),
        ("icans", "examples/grading/icans-grade-4.json", 4),
    ] {
        let o = cellpath(&["grade", kind, file]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        assert_eq!(keys(&doc), ["grade", "graded", "reasons"]);
        assert_eq!(doc["grade"], grade, "{file}");
        assert!(!doc["reasons"].as_array().expect("reasons").is_empty());
    }
}

/// An awake patient whose ICE could not be done: ICANS cannot be graded, and the JSON says
/// `"grade": null` with the lower bound apart (it said 0, read as "no ICANS").
#[test]
fn an_ungradable_icans_is_null_not_zero() {
    let o = with_stdin(
        &["grade", "icans", "-"],
        br#"{"ice_score": null, "consciousness": "normal", "seizure": "none", "motor_weakness": "none", "cerebral_edema": "none"}"#,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(doc["grade"], serde_json::Value::Null, "{doc}");
    assert_eq!(doc["graded"], false);
    assert_eq!(doc["at_least"], 0);
}

#[test]
fn grading_bad_input_exits_2_naming_the_field() {
    let o = with_stdin(&["grade", "crs", "-"], b"{\"temperature_c\": 38.6, \"antipyretics_or_anticytokine_given\": false,\n \"hypotension\": true, \"vasopressors\": 1, \"oxygen\": {\"device\": \"tent\"}}");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("<stdin>:2:") && stderr(&o).contains("`oxygen.device`"),
        "{}",
        stderr(&o)
    );
    let o = with_stdin(&["grade", "icans", "-"], b"{\"ice_score\": 12, \"consciousness\": \"normal\", \"seizure\": \"none\", \"motor_weakness\": \"none\", \"cerebral_edema\": \"none\"}");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ice_score 12"), "{}", stderr(&o));
    let o = with_stdin(&["grade", "icans", "-"], b"{\"ice_score\": 8, \"consciousness\": \"dazed\", \"seizure\": \"none\", \"motor_weakness\": \"none\", \"cerebral_edema\": \"none\"}");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`consciousness`"), "{}", stderr(&o));
}

#[test]
fn plans_a_journey_and_writes_a_calendar() {
    let plan_file = "examples/plans/satri-cel-example.toml";
    let o = cellpath(&["plan", plan_file]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("CAR-T infusion (day 0)"));
    assert!(out.contains("not medical advice"));
    assert!(
        out.contains("Conflicts:"),
        "the example has a caregiver gap and an old blood count"
    );

    let o = cellpath(&[
        "plan",
        plan_file,
        "--format",
        "ics",
        "--stamp",
        "2026-11-25",
    ]);
    assert!(o.status.success());
    let ics = stdout(&o);
    assert!(ics.contains("UID:example-gastric-1-infusion@cellpath\r\n"));
    assert!(ics.contains("DTSTAMP:20261125T000000Z"));

    // Moving the leukapheresis date moves what follows.
    let text = std::fs::read_to_string(root().join(plan_file)).expect("plan");
    let moved = text.replace(
        "# leukapheresis = { start = \"2026-12-09\", end = \"2026-12-10\" }",
        "leukapheresis = { start = \"2026-12-20\", end = \"2026-12-21\" }",
    );
    let json = |input: &str| -> serde_json::Value {
        let o = with_stdin(&["plan", "-", "--format", "json"], input.as_bytes());
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).expect("json")
    };
    let (a, b) = (json(&text), json(&moved));
    let start = |v: &serde_json::Value, i: usize| {
        v["steps"][i]["window"]["start"][0]
            .as_str()
            .map(str::to_owned)
    };
    assert_eq!(start(&a, 0), start(&b, 0), "the screening visit stays");
    assert_eq!(start(&b, 1).as_deref(), Some("2026-12-20"));
    assert_eq!(start(&b, 2).as_deref(), Some("2026-12-22"));
    assert_ne!(start(&a, 4), start(&b, 4), "the infusion moves");

    let o = with_stdin(
        &["plan", "-"],
        text.replace(
            "monitoring-near-centre = [28, 28]",
            "monitoring-near-centr = [28, 28]",
        )
        .as_bytes(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown step `monitoring-near-centr`"),
        "{}",
        stderr(&o)
    );
    let o = with_stdin(
        &["plan", "-"],
        text.replace("start = \"2026-12-01\"", "start = \"2026-13-01\"")
            .as_bytes(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("<stdin>:"), "{}", stderr(&o));
}

#[test]
fn backup_and_restore_round_trip() {
    let dir = std::env::temp_dir().join(format!("cellpath-bk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let d = |p: &str| dir.join(p).to_string_lossy().into_owned();
    assert!(
        cellpath(&["db", "migrate", "--data-dir", &d("one")])
            .status
            .success()
    );
    std::fs::create_dir_all(dir.join("one/documents")).expect("documents");
    std::fs::write(dir.join("one/documents/d-1.enc"), b"sealed bytes").expect("document");
    let o = cellpath(&["backup", "--data-dir", &d("one"), "--to", &d("b")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cellpath(&["backup", "--data-dir", &d("one"), "--to", &d("b")]);
    assert_eq!(o.status.code(), Some(2), "never overwrites a backup");
    let o = cellpath(&["restore", "--from", &d("b"), "--data-dir", &d("two")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("audit entries verified, 1 documents"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        std::fs::read(dir.join("two/documents/d-1.enc")).expect("restored"),
        b"sealed bytes"
    );
    let o = cellpath(&["restore", "--from", &d("b"), "--data-dir", &d("two")]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "refuses to replace without --force"
    );
    std::fs::write(dir.join("junk.db"), b"not a database").expect("junk");
    let o = cellpath(&[
        "restore",
        "--from",
        &d("junk.db"),
        "--data-dir",
        &d("three"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a SQLite database"));
    assert!(!dir.join("three").exists(), "nothing written");
    let o = cellpath(&["audit", "verify", "--data-dir", &d("two")]);
    assert!(o.status.success());
    // The backup and the restored database are the owner's alone (they were 0644).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| {
            std::fs::metadata(dir.join(p))
                .expect("exists")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("b"), 0o700, "backup folder");
        assert_eq!(mode("b/cellpath.db"), 0o600, "backup database");
        assert_eq!(mode("two/cellpath.db"), 0o600, "restored database");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_refuses_a_bad_configuration_file() {
    let dir = std::env::temp_dir().join(format!("cellpath-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = dir.join("cellpath.toml");
    std::fs::write(&cfg, "bind = \"127.0.0.1:0\"\nport = 8080\n").expect("write");
    let o = cellpath(&["serve", "--config", cfg.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cellpath.toml:2: unknown field `port`"),
        "{}",
        stderr(&o)
    );
    std::fs::write(&cfg, "document_key_file = \"/nonexistent/key\"\n").expect("write");
    let o = cellpath(&["serve", "--config", cfg.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("document key file"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every string of a JSON value, split into words: the record's own text (a pathology
/// report's name, a site as written) stays in the language it was written in.
fn words_of(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::String(s) => {
            for w in latin_words(s) {
                out.insert(w.to_lowercase());
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| words_of(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| words_of(x, out)),
        _ => {}
    }
}

fn latin_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphabetic() || (!cur.is_empty() && (ch == '-' || ch == '\'')) {
            cur.push(ch);
        } else if !cur.is_empty() {
            out.push(cur.trim_end_matches(['-', '\'']).to_owned());
            cur.clear();
        }
    }
    if !cur.is_empty() {
        out.push(cur.trim_end_matches(['-', '\'']).to_owned());
    }
    out.into_iter().filter(|w| w.len() > 1).collect()
}

#[test]
fn chinese_output_has_no_english_beyond_names_codes_units_and_the_records_own_text() {
    // Codes, units, product and trial names that stay as they are in Chinese text.
    const KEPT: &[&str] = &[
        "cellpath",
        "CLDN",
        "CLDN18",
        "HER",
        "HER2",
        "IHC",
        "ISH",
        "PD-L1",
        "PD",
        "CPS",
        "MSI",
        "MSS",
        "MMR",
        "dMMR",
        "pMMR",
        "ECOG",
        "CAR-T",
        "CAR",
        "NMPA",
        "FDA",
        "CT",
        "PET",
        "TNM",
        "GEJ",
        "ULN",
        "FHIR",
        "urn",
        "uuid",
        "MDT",
        "VENTANA",
        "RxDx",
        "CA",
        "satri-cel",
        "CT041",
        "CT041-ST",
        "ST",
        "IBI343",
        "IBI",
        "CARsgen",
        "NCT",
        "LVEF",
        "HBV",
        "HCV",
        "HIV",
        "ICE",
        "CRS",
        "ICANS",
        "RECIST",
        "U",
        "mL",
        "umol",
        "L",
        "g",
        "dL",
        "mg",
        "kg",
        "mmol",
        "IU",
        "x",
        "Condition",
        "Observation",
        "MedicationStatement",
        "MedicationAdministration",
        "Patient",
        "Procedure",
        "DiagnosticReport",
        "FNC",
        "Lancet",
        "Nature",
        "Medicine",
        "OncLive",
        "ttm",
        "financial",
        "ATC",
        "RxNorm",
        "nab-paclitaxel",
        "Ib",
        "PD-L",
        // Publication and brand names.
        "China",
        "Hospitals",
        "Guide",
        "Vyloy",
    ];
    let mut kept: std::collections::BTreeSet<String> =
        KEPT.iter().map(|w| w.to_lowercase()).collect();
    for d in cellpath_domain::drugs::ANTICANCER_DRUGS {
        for w in latin_words(d) {
            kept.insert(w.to_lowercase());
        }
    }
    // Criterion and programme ids are codes.
    let cat = cellpath_eligibility::shipped().expect("catalogue");
    for p in cat.programmes() {
        for w in latin_words(&p.id) {
            kept.insert(w.to_lowercase());
        }
        kept.insert(cellpath_eligibility::eval::STATUS_CRITERION_ID.to_owned());
        for c in p.criteria() {
            kept.insert(c.id.to_lowercase());
            for w in latin_words(&c.id) {
                kept.insert(w.to_lowercase());
            }
        }
    }
    let mut files: Vec<String> = Vec::new();
    for dir in ["examples/cases", "examples/fhir"] {
        for e in std::fs::read_dir(root().join(dir)).expect("examples") {
            let p = e.expect("entry").path();
            files.push(format!(
                "{dir}/{}",
                p.file_name().expect("name").to_string_lossy()
            ));
        }
    }
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let mut leaks = Vec::new();
    for file in &files {
        // The record as cellpath holds it: its own strings are not translated.
        let record = cellpath(&["case", "import", file, "--to", "json"]);
        let record: serde_json::Value = if record.status.success() {
            serde_json::from_slice(&record.stdout).expect("record json")
        } else {
            let text = std::fs::read_to_string(root().join(file)).expect("read");
            serde_json::to_value(cellpath_domain::native::from_toml(&text).expect("case"))
                .expect("json")
        };
        let mut allowed = kept.clone();
        words_of(&record, &mut allowed);
        let o = cellpath(&["screen", file, "--as-of", "2026-11-20", "--lang", "zh-CN"]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        for line in stdout(&o).lines() {
            // A citation keeps its source's own title and address.
            if line.contains("来源: ") || line.contains("http") {
                continue;
            }
            // A command to type (between backticks) stays as typed.
            let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
            for w in latin_words(&prose) {
                if !allowed.contains(&w.to_lowercase()) {
                    leaks.push(format!("{file}: `{w}` in: {}", line.trim()));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "English in Chinese output:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn import_bulk_makes_one_case_per_patient() {
    let out = std::env::temp_dir().join(format!("cellpath-bulk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = cellpath(&[
        "case",
        "import-bulk",
        "tests/data/fhir-bulk/synthea-3",
        "--out",
        out.to_str().expect("path"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = stdout(&o);
    assert!(
        summary.starts_with("3 patients → 3 case files"),
        "{summary}"
    );
    assert!(summary.contains("not used: Encounter 152"), "{summary}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3);
    let mut sites = Vec::new();
    for f in &files {
        // Each file is a valid native case of one patient.
        let o = cellpath(&["case", "validate", f.to_str().expect("path")]);
        assert!(o.status.success(), "{}: {}", f.display(), stderr(&o));
        let text = std::fs::read_to_string(f).expect("read");
        let case: toml::Value = toml::from_str(&text).expect("toml");
        sites.push(
            case["primary"]["site"]
                .as_str()
                .unwrap_or("none")
                .to_owned(),
        );
    }
    sites.sort();
    assert_eq!(sites, ["breast", "lung", "prostate"]);
    // Not an export: refused, exit 2, nothing written.
    let o = cellpath(&[
        "case",
        "import-bulk",
        "examples/cases",
        "--out",
        out.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no .ndjson files"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn export_to_fhir_re_imports_unchanged() {
    for example in [GASTRIC, "examples/cases/gej-needs-information.toml"] {
        let o = cellpath(&["case", "export", example, "--to", "fhir"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let bundle: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        assert_eq!(bundle["resourceType"], "Bundle");
        let back = with_stdin(&["case", "import", "-", "--to", "toml"], &o.stdout);
        assert!(back.status.success(), "{}", stderr(&back));
        // The same case: `case validate` describes both alike.
        let again = with_stdin(&["case", "validate", "-"], &back.stdout);
        assert!(again.status.success(), "{}", stderr(&again));
        let original = cellpath(&["case", "validate", example]);
        let summary = |o: &Output| stdout(o).lines().skip(1).collect::<Vec<_>>().join("\n");
        assert_eq!(summary(&again), summary(&original), "{example}");
    }
}

#[test]
fn fhir_refusals_exit_2_saying_what_the_input_is() {
    let dir = std::env::temp_dir().join(format!("cellpath-refusals-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let xml = dir.join("patient.xml");
    std::fs::write(
        &xml,
        "<?xml version=\"1.0\"?>\n<Patient xmlns=\"http://hl7.org/fhir\"/>\n",
    )
    .expect("write");
    let o = cellpath(&["screen", xml.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("FHIR XML"), "{}", stderr(&o));
    let big = dir.join("big.json");
    std::fs::write(
        &big,
        format!(
            "{{\"resourceType\":\"Bundle\",\"entry\":[],\"pad\":\"{}\"}}",
            "x".repeat(2 * 1024 * 1024)
        ),
    )
    .expect("write");
    let o = cellpath(&[
        "case",
        "import",
        big.to_str().expect("path"),
        "--max-input-mb",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("over the import limit"),
        "{}",
        stderr(&o)
    );
    let o = cellpath(&[
        "case",
        "import",
        big.to_str().expect("path"),
        "--max-input-mb",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ndjson = root().join("tests/data/fhir-bulk/synthea-3/Patient.ndjson");
    let o = cellpath(&["case", "import", ndjson.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("import-bulk"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn catalogue_check_reads_the_evidence_and_names_a_bad_figure() {
    let o = cellpath(&[
        "catalogue-check",
        root().join("catalogue").to_str().expect("dir"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("published figures"), "{}", stdout(&o));
    let dir = std::env::temp_dir().join(format!("cellpath-ev-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("evidence")).expect("tmp");
    let good = std::fs::read_to_string(root().join("catalogue/satri-cel-nmpa.toml")).expect("cat");
    std::fs::write(dir.join("satri-cel-nmpa.toml"), &good).expect("write");
    let figures =
        std::fs::read_to_string(root().join("catalogue/evidence/satri-cel.toml")).expect("ev");
    // A typo that moves a value outside its own published interval.
    let broken = figures.replacen("arm_value = \"3.25\"", "arm_value = \"32.5\"", 1);
    std::fs::write(dir.join("evidence/satri-cel.toml"), &broken).expect("write");
    let o = cellpath(&["catalogue-check", dir.to_str().expect("dir")]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let line = broken
        .lines()
        .position(|l| l == "id = \"st01-itt-pfs\"")
        .expect("line")
        + 1;
    assert!(
        stderr(&o).contains(&format!(
            "satri-cel.toml:{line}: st01-itt-pfs: arm_value 32.5 lies outside"
        )),
        "{}",
        stderr(&o)
    );
}
