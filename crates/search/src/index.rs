//! The index: one document per study (its latest version), rebuilt from the database
//! whenever a server starts, so every replica keeps its own.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex};

use cellpath_registry::Study;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, EnableScoring, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher,
    TantivyDocument, Term,
};

use crate::analyzer::{self, Analyzer};
use crate::query::{Clause, FacetKey, Parsed, phase_value, status_value};
use crate::{Error, Result};

/// The text fields searched, with how much a match in each counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextField {
    Title,
    Conditions,
    Interventions,
    Eligibility,
    Locations,
    Other,
}

impl TextField {
    pub const ALL: [TextField; 6] = [
        Self::Title,
        Self::Conditions,
        Self::Interventions,
        Self::Eligibility,
        Self::Locations,
        Self::Other,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Title => "title",
            Self::Conditions => "conditions",
            Self::Interventions => "interventions",
            Self::Eligibility => "eligibility",
            Self::Locations => "locations",
            Self::Other => "other",
        }
    }
}

#[derive(Clone, Copy)]
struct Fields {
    nct_id: Field,
    /// The stored texts, for results and snippets (not indexed).
    text: [Field; 6],
    /// Every text of the study, indexed: what a query matches.
    all: Field,
    /// Title, conditions and keywords, indexed: what the study is about (ranks higher, and
    /// is what a case's cancer is matched on).
    subject: Field,
    facets: Field,
    ord: Field,
    updated: Field,
    summary: Field,
}

impl Fields {
    fn text(&self, f: TextField) -> Field {
        self.text[f as usize]
    }
}

/// What a result shows without reading the database.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub nct_id: String,
    pub title: String,
    pub status: Option<String>,
    pub phases: Vec<String>,
    pub study_type: Option<String>,
    pub conditions: Vec<String>,
    pub sponsor: Option<String>,
    pub countries: Vec<String>,
    pub last_update: Option<String>,
}

/// A stretch of text and whether it is a matching word.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    pub text: String,
    pub hit: bool,
}

fn spans(text: &str, hits: &[Range<usize>]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut at = 0;
    for r in hits {
        if r.start < at || r.end > text.len() {
            continue;
        }
        if r.start > at {
            out.push(Span {
                text: text[at..r.start].to_owned(),
                hit: false,
            });
        }
        out.push(Span {
            text: text[r.clone()].to_owned(),
            hit: true,
        });
        at = r.end;
    }
    if at < text.len() {
        out.push(Span {
            text: text[at..].to_owned(),
            hit: false,
        });
    }
    out
}

/// Where the query matched, beyond the title.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Snippet {
    pub field: TextField,
    pub spans: Vec<Span>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Hit {
    pub study: Summary,
    pub score: f32,
    /// The title with the matching words marked.
    pub title: Vec<Span>,
    pub snippet: Option<Snippet>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
    pub selected: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FacetGroup {
    pub key: FacetKey,
    pub values: Vec<FacetCount>,
    /// The counts are estimated from a sample of the matches (rounded to two significant
    /// digits), not counted over every one: said "about" wherever they are shown.
    pub approximate: bool,
}

/// How results are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sort {
    #[default]
    Relevance,
    /// Most recently updated first.
    Updated,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Results {
    pub total: usize,
    pub hits: Vec<Hit>,
    pub facets: Vec<FacetGroup>,
}

/// A search: the parsed query, the page and the order.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub query: &'a Parsed,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
    /// Whether to count the facets (a plain lookup leaves them out).
    pub facets: bool,
    /// Whether to make snippets.
    pub snippets: bool,
}

/// The facet values seen: (key, lower-cased value, the records' spelling) by number.
#[derive(Default)]
struct Vocab {
    ids: std::collections::HashMap<(FacetKey, String), u64>,
    entries: Vec<(FacetKey, String, String)>,
    /// Each study's number in this process (its `ord` fast field).
    studies: std::collections::HashMap<String, u64>,
}

/// A study's facet value numbers: those of the facets with few values (status, phases,
/// type, age groups, intervention types), its sponsor, and its places (countries and
/// cities), which for a study of hundreds of sites are hundreds.
#[derive(Default)]
struct StudyFacets {
    few: Vec<u32>,
    sponsor: Option<u32>,
    places: Vec<u32>,
}

/// No sponsor.
const NONE: u32 = u32::MAX;

/// Studies per chunk of the facet lists.
const CHUNK: usize = 4096;

/// Where a study's list stands in its chunk.
#[derive(Clone, Copy, Default)]
struct ListAt {
    start: u32,
    len: u32,
}

/// The place lists of [`CHUNK`] consecutive study numbers, one after another in one
/// array: a search reads the lists of its matches in study order, not a pointer each.
#[derive(Clone)]
struct Chunk {
    ids: Vec<u32>,
    at: Vec<ListAt>,
}

impl Chunk {
    fn new() -> Self {
        Self {
            ids: Vec::new(),
            at: vec![ListAt::default(); CHUNK],
        }
    }

    fn list(&self, slot: usize) -> Option<&[u32]> {
        let a = self.at.get(slot)?;
        self.ids.get(a.start as usize..(a.start + a.len) as usize)
    }

    fn set(&mut self, slot: usize, list: &[u32]) {
        let start = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        self.ids.extend_from_slice(list);
        self.at[slot] = ListAt {
            start,
            len: u32::try_from(list.len()).unwrap_or(u32::MAX),
        };
        // A replaced list stays behind until the chunk is mostly such: then rewrite it.
        let live: usize = self.at.iter().map(|a| a.len as usize).sum();
        if self.ids.len() > 2 * live + 4096 {
            let mut ids = Vec::with_capacity(live);
            for a in &mut self.at {
                let from = a.start as usize;
                a.start = u32::try_from(ids.len()).unwrap_or(u32::MAX);
                ids.extend_from_slice(&self.ids[from..from + a.len as usize]);
            }
            self.ids = ids;
        }
    }
}

/// The facet values of every study by its number, as of the last commit. A commit
/// replaces what it changed, so a search reads one snapshot without a lock.
#[derive(Clone, Default)]
struct FacetData {
    places: Vec<Arc<Chunk>>,
    /// Each study's sponsor value ([`NONE`] for none).
    sponsor: Arc<Vec<u32>>,
    /// For each value of the facets with few values, the set of studies (bit per study
    /// number) that have it: a search counts them by intersecting its matches' set, at
    /// a cost that does not grow with the matches.
    few: Vec<(u32, Arc<Vec<u64>>)>,
}

impl FacetData {
    fn set(&mut self, ord: usize, f: &StudyFacets) {
        while self.places.len() <= ord / CHUNK {
            self.places.push(Arc::new(Chunk::new()));
        }
        // A part a search may be reading is copied once per commit.
        Arc::make_mut(&mut self.places[ord / CHUNK]).set(ord % CHUNK, &f.places);
        let sponsors = Arc::make_mut(&mut self.sponsor);
        if sponsors.len() <= ord {
            sponsors.resize(ord + 1, NONE);
        }
        sponsors[ord] = f.sponsor.unwrap_or(NONE);
        let (word, bit) = (ord / 64, 1u64 << (ord % 64));
        for (id, studies) in &mut self.few {
            let has = studies.get(word).is_some_and(|w| w & bit != 0);
            if has != f.few.contains(id) {
                let studies = Arc::make_mut(studies);
                if studies.len() <= word {
                    studies.resize(word + 1, 0);
                }
                studies[word] ^= bit;
            }
        }
        for id in &f.few {
            if !self.few.iter().any(|(v, _)| v == id) {
                let mut studies = vec![0u64; word + 1];
                studies[word] = bit;
                self.few.push((*id, Arc::new(studies)));
            }
        }
    }
}

type FacetLists = Arc<FacetData>;

/// Above this many matches the places are counted from a sample of about this many: their
/// counts are the cost of a broad search (a large study's hundreds of cities on each of
/// tens of thousands of matches), and estimated from some thousands they are close (a
/// value of one match in ten within about 6 %, one standard error).
const PLACES_EXACT_UP_TO: usize = 2_500;

/// A sample smaller than this is taken again at the rate the total asks for.
const MIN_SAMPLE: u64 = PLACES_EXACT_UP_TO as u64 / 2;

/// The sampling rate for the places of at most `matches` matches (`None`: count them all):
/// it gathers a few times the sample as candidates, so that a bound well above the
/// matches still leaves enough, and the lowest sample keys of them are counted.
fn places_rate(matches: u64) -> Option<u32> {
    const CANDIDATES: f64 = 4.0 * PLACES_EXACT_UP_TO as f64;
    (matches > PLACES_EXACT_UP_TO as u64).then(|| {
        let share = (CANDIDATES / matches as f64).min(1.0);
        (share * f64::from(u32::MAX)) as u32
    })
}

/// A study's place in every sample: a hash of its number, so a study is in or out the same
/// way for every search and page.
fn sample_key(ord: u64) -> u32 {
    (ord.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
}

/// At most this many place values are counted for one search: a study of six hundred sites
/// counts as much as a hundred of ten, so the sample is cut by its cost, not its size.
const PLACE_VALUES_BUDGET: usize = 300_000;

/// Two significant digits: an estimate shown no more precisely than it is.
fn rounded(n: f64) -> u64 {
    if n < 100.0 {
        return n.round() as u64;
    }
    let scale = 10f64.powi(n.log10().floor() as i32 - 1);
    ((n / scale).round() * scale) as u64
}

impl Vocab {
    fn id(&mut self, key: FacetKey, lower: &str, shown: &str) -> u64 {
        if let Some(id) = self.ids.get(&(key, lower.to_owned())) {
            return *id;
        }
        let id = self.entries.len() as u64;
        self.entries.push((key, lower.to_owned(), shown.to_owned()));
        self.ids.insert((key, lower.to_owned()), id);
        id
    }

    fn study(&mut self, nct_id: &str) -> u64 {
        let next = self.studies.len() as u64;
        *self.studies.entry(nct_id.to_owned()).or_insert(next)
    }
}

/// Counts the facet values of the matching studies from their numbers (the `ord` fast
/// field) and the in-memory [`FacetData`]: tantivy's facet collector walks the facet
/// dictionary on every search, which grows with every sponsor and city.
struct FacetIds {
    size: usize,
    lists: FacetLists,
    /// The places are gathered as candidates for the studies whose [`sample_key`] is at most
    /// this rate; `None` counts every match's places.
    places_rate: Option<u32>,
}

struct SegmentFacetIds {
    column: tantivy::columnar::Column<u64>,
    lists: FacetLists,
    places_rate: Option<u32>,
    tally: FacetTally,
    /// The matching studies, a bit per study number.
    matched: Vec<u64>,
}

/// Counts by value number, with the numbers counted.
#[derive(Default)]
pub(crate) struct FacetTally {
    counts: Vec<u32>,
    /// The values counted at least once, so that merging and reading the counts cost what
    /// the matches touched, not the size of the vocabulary.
    touched: Vec<u32>,
    /// The matches counted, and those whose places were.
    matches: u64,
    places_matches: u64,
    /// The sampled matches whose places are still to count: (sample key, study number).
    candidates: Vec<(u32, u32)>,
}

fn place_list(lists: &FacetData, at: usize) -> Option<&[u32]> {
    lists
        .places
        .get(at / CHUNK)
        .and_then(|c| c.list(at % CHUNK))
}

impl FacetTally {
    /// Counts the places of the sampled matches with the lowest sample keys — a uniform
    /// sample of the matches still — up to `most` studies and [`PLACE_VALUES_BUDGET`]
    /// values (every candidate when `most` is `None`).
    fn count_sampled_places(&mut self, lists: &FacetData, most: Option<usize>) {
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.sort_unstable();
        let mut spent = 0;
        for (n, (_, ord)) in candidates.into_iter().enumerate() {
            let Some(places) = place_list(lists, ord as usize) else {
                continue;
            };
            if let Some(most) = most
                && (n >= most || (spent > 0 && spent + places.len() > PLACE_VALUES_BUDGET))
            {
                break;
            }
            spent += places.len();
            self.count(places);
            self.places_matches += 1;
        }
    }

    fn count(&mut self, ids: &[u32]) {
        for &id in ids {
            // A value numbered after this search began is not counted.
            if let Some(c) = self.counts.get_mut(id as usize) {
                if *c == 0 {
                    self.touched.push(id);
                }
                *c += 1;
            }
        }
    }
}

impl tantivy::collector::Collector for FacetIds {
    type Fruit = FacetTally;
    type Child = SegmentFacetIds;

    fn for_segment(
        &self,
        _: tantivy::SegmentOrdinal,
        segment: &tantivy::SegmentReader,
    ) -> tantivy::Result<SegmentFacetIds> {
        Ok(SegmentFacetIds {
            column: segment.fast_fields().u64("ord")?,
            lists: Arc::clone(&self.lists),
            places_rate: self.places_rate,
            tally: FacetTally {
                counts: vec![0; self.size],
                ..FacetTally::default()
            },
            matched: vec![0; self.lists.sponsor.len() / 64 + 1],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetTally>) -> tantivy::Result<FacetTally> {
        let mut fruits = fruits.into_iter();
        let Some(mut out) = fruits.next() else {
            return Ok(FacetTally::default());
        };
        for f in fruits {
            out.matches += f.matches;
            out.places_matches += f.places_matches;
            out.candidates.extend(f.candidates);
            for id in f.touched {
                let (i, c) = (id as usize, f.counts[id as usize]);
                if out.counts[i] == 0 {
                    out.touched.push(id);
                }
                out.counts[i] += c;
            }
        }
        Ok(out)
    }
}

impl tantivy::collector::SegmentCollector for SegmentFacetIds {
    type Fruit = FacetTally;

    fn collect(&mut self, doc: tantivy::DocId, _: tantivy::Score) {
        let Some(ord) = self.column.first(doc) else {
            return;
        };
        let at = ord as usize;
        let Some(&sponsor) = self.lists.sponsor.get(at) else {
            return;
        };
        if let Some(w) = self.matched.get_mut(at / 64) {
            *w |= 1 << (at % 64);
        }
        if sponsor != NONE {
            self.tally.count(&[sponsor]);
        }
        self.tally.matches += 1;
        match self.places_rate {
            None => {
                if let Some(places) = place_list(&self.lists, at) {
                    self.tally.count(places);
                }
                self.tally.places_matches += 1;
            }
            Some(rate) => {
                let key = sample_key(ord);
                if key <= rate {
                    self.tally
                        .candidates
                        .push((key, u32::try_from(ord).unwrap_or(u32::MAX)));
                }
            }
        }
    }

    fn harvest(mut self) -> FacetTally {
        for (id, studies) in &self.lists.few {
            let n: u32 = studies
                .iter()
                .zip(&self.matched)
                .map(|(a, b)| (a & b).count_ones())
                .sum();
            if n == 0 {
                continue;
            }
            if let Some(c) = self.tally.counts.get_mut(*id as usize) {
                if *c == 0 {
                    self.tally.touched.push(*id);
                }
                *c += n;
            }
        }
        self.tally
    }
}

/// How much more a clause found in the study's subject counts.
const SUBJECT_BOOST: f32 = 2.0;

/// How many values of each facet are listed.
const FACET_VALUES: usize = 12;

/// Where an index is kept.
#[derive(Clone, Copy, Debug)]
pub enum Where<'a> {
    Memory,
    /// A temporary folder of its own (a replica beside others on one database).
    Temp,
    /// A folder the index owns, emptied when it is created.
    Dir(&'a Path),
}

pub struct StudyIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    /// Every facet value seen, numbered for this process (the index is rebuilt at each
    /// start): counting a search's facets reads the numbers from a fast field.
    vocab: Mutex<Vocab>,
    lists: std::sync::RwLock<FacetLists>,
    /// Facet lists of studies staged and not yet committed.
    pending: Mutex<Vec<(u64, StudyFacets)>>,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(analyzer::NAME)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let indexed = TextOptions::default().set_indexing_options(indexing);
    let nct_id = b.add_text_field("nct_id", STRING | STORED);
    // One indexed field for matching, not one per text: a query's cost is per field.
    let text = TextField::ALL.map(|f| b.add_text_field(f.name(), STORED));
    let all = b.add_text_field("all", indexed.clone());
    let subject = b.add_text_field("subject", indexed);
    let facets = b.add_facet_field("facets", FacetOptions::default());
    let ord = b.add_u64_field("ord", FAST);
    let updated = b.add_u64_field("updated", FAST | INDEXED);
    let summary = b.add_text_field("summary", STORED);
    (
        b.build(),
        Fields {
            nct_id,
            text,
            all,
            subject,
            facets,
            ord,
            updated,
            summary,
        },
    )
}

/// An age such as `18 Years` or `6 Months`, in years.
fn years(age: Option<&str>) -> Option<f64> {
    let age = age?;
    let mut words = age.split_whitespace();
    let n: f64 = words.next()?.parse().ok()?;
    let unit = words.next().unwrap_or("years").to_lowercase();
    Some(match unit.trim_end_matches('s') {
        "year" => n,
        "month" => n / 12.0,
        "week" => n / 52.0,
        "day" => n / 365.0,
        "hour" | "minute" => 0.0,
        _ => return None,
    })
}

/// The age groups a study takes (ClinicalTrials.gov's: child < 18, adult 18–64, older ≥ 65).
pub fn age_groups(study: &Study) -> Vec<&'static str> {
    let min = years(study.minimum_age.as_deref()).unwrap_or(0.0);
    let max = years(study.maximum_age.as_deref()).unwrap_or(f64::INFINITY);
    let mut out = Vec::new();
    if min < 18.0 {
        out.push("child");
    }
    if min < 65.0 && max >= 18.0 {
        out.push("adult");
    }
    if max >= 65.0 {
        out.push("older-adult");
    }
    out
}

fn facet(key: FacetKey, value: &str) -> Facet {
    Facet::from_path([key.name(), value])
}

/// `YYYY-MM-DD` (or `YYYY-MM`) as a sortable number.
fn updated_number(date: Option<&str>) -> u64 {
    let digits: String = date
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let padded = format!("{digits:0<8}");
    padded[..8].parse().unwrap_or(0)
}

fn phrase_or_term(field: Field, terms: &[String]) -> Box<dyn Query> {
    if terms.len() == 1 {
        Box::new(TermQuery::new(
            Term::from_field_text(field, &terms[0]),
            IndexRecordOption::WithFreqs,
        ))
    } else {
        Box::new(PhraseQuery::new(
            terms
                .iter()
                .map(|t| Term::from_field_text(field, t))
                .collect(),
        ))
    }
}

impl StudyIndex {
    /// A new, empty index: in memory, in `dir` (emptied first), or — with `Where::Temp` —
    /// in a temporary folder removed when the index is dropped.
    pub fn create(dir: Option<&Path>) -> Result<Self> {
        Self::create_at(match dir {
            Some(d) => Where::Dir(d),
            None => Where::Memory,
        })
    }

    pub fn create_at(at: Where<'_>) -> Result<Self> {
        let (schema, fields) = schema();
        let index = match at {
            Where::Memory => Index::create_in_ram(schema),
            Where::Temp => Index::create_from_tempdir(schema)?,
            Where::Dir(dir) => {
                if dir.exists() {
                    std::fs::remove_dir_all(dir)
                        .map_err(|e| Error::Io(dir.display().to_string(), e))?;
                }
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::Io(dir.display().to_string(), e))?;
                Index::create_in_dir(dir, schema)?
            }
        };
        index
            .tokenizers()
            .register(analyzer::NAME, TextAnalyzer::from(analyzer::Tagging));
        let writer: IndexWriter = index.writer_with_num_threads(2, 200_000_000)?;
        // Merges are this index's own (`compact`): a background merge would hold segments
        // that a compaction asks for.
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            vocab: Mutex::new(Vocab::default()),
            lists: std::sync::RwLock::new(Arc::new(FacetData::default())),
            pending: Mutex::new(Vec::new()),
        })
    }

    /// The study's document, and whether this index already holds the study.
    fn document(&self, s: &Study) -> (TantivyDocument, bool) {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.nct_id, s.nct_id.as_str());
        doc.add_text(f.text(TextField::Title), &s.title);
        doc.add_text(f.text(TextField::Conditions), s.conditions.join("\n"));
        let interventions: Vec<&str> = s.interventions.iter().map(|i| i.name.as_str()).collect();
        doc.add_text(f.text(TextField::Interventions), interventions.join("\n"));
        if let Some(e) = &s.eligibility {
            doc.add_text(f.text(TextField::Eligibility), e);
        }
        let mut places: Vec<String> = Vec::new();
        for l in &s.locations {
            let place: Vec<&str> = [&l.facility, &l.city, &l.country]
                .into_iter()
                .filter_map(|x| x.as_deref())
                .collect();
            let place = place.join(", ");
            if !places.contains(&place) {
                places.push(place);
            }
        }
        doc.add_text(f.text(TextField::Locations), places.join("\n"));
        let mut other = s.keywords.join("\n");
        for x in [&s.official_title, &s.sponsor].into_iter().flatten() {
            other.push('\n');
            other.push_str(x);
        }
        let subject = format!("{}\n{}\n{other}", s.title, s.conditions.join("\n"));
        let mut all = subject.clone();
        for x in [
            interventions.join("\n"),
            s.eligibility.clone().unwrap_or_default(),
            places.join("\n"),
        ] {
            all.push('\n');
            all.push_str(&x);
        }
        doc.add_text(f.text(TextField::Other), &other);
        doc.add_text(f.subject, subject);
        doc.add_text(f.all, all);

        let mut vocab = self.vocab.lock().unwrap_or_else(|e| e.into_inner());
        let held = vocab.studies.contains_key(s.nct_id.as_str());
        let ord = vocab.study(s.nct_id.as_str());
        doc.add_u64(f.ord, ord);
        let mut ids: Vec<(FacetKey, u32)> = Vec::new();
        let mut add = |doc: &mut TantivyDocument,
                       ids: &mut Vec<(FacetKey, u32)>,
                       key: FacetKey,
                       value: &str| {
            let value = value.trim();
            if value.is_empty() {
                return;
            }
            let lower = value.to_lowercase();
            let id = vocab.id(key, &lower, value);
            doc.add_facet(f.facets, facet(key, &lower));
            ids.push((key, u32::try_from(id).unwrap_or(u32::MAX)));
        };
        if let Some(st) = s.status {
            add(&mut doc, &mut ids, FacetKey::Status, status_value(st));
        }
        for p in &s.phases {
            add(&mut doc, &mut ids, FacetKey::Phase, phase_value(*p));
        }
        if let Some(t) = &s.study_type {
            add(&mut doc, &mut ids, FacetKey::Type, &t.replace('_', " "));
        }
        let mut countries: Vec<String> = Vec::new();
        let mut cities: Vec<String> = Vec::new();
        for l in &s.locations {
            if let Some(c) = &l.country
                && !countries.contains(c)
            {
                countries.push(c.clone());
            }
            if let Some(c) = &l.city
                && !cities.contains(c)
            {
                cities.push(c.clone());
            }
        }
        if let Some(sp) = &s.sponsor {
            add(&mut doc, &mut ids, FacetKey::Sponsor, sp);
        }
        for g in age_groups(s) {
            add(&mut doc, &mut ids, FacetKey::Age, g);
        }
        let mut kinds: Vec<String> = Vec::new();
        for i in &s.interventions {
            if let Some(k) = &i.kind {
                let k = k.replace('_', " ");
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
        }
        for k in &kinds {
            add(&mut doc, &mut ids, FacetKey::Intervention, k);
        }
        for c in &countries {
            add(&mut doc, &mut ids, FacetKey::Country, c);
        }
        for c in &cities {
            add(&mut doc, &mut ids, FacetKey::City, c);
        }
        drop(vocab);
        let mut facets = StudyFacets::default();
        for (key, id) in ids {
            match key {
                FacetKey::Sponsor => facets.sponsor = Some(id),
                k if k.is_place() => facets.places.push(id),
                _ => facets.few.push(id),
            }
        }
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((ord, facets));
        doc.add_u64(f.updated, updated_number(s.last_update.as_deref()));
        let summary = Summary {
            nct_id: s.nct_id.as_str().to_owned(),
            title: s.title.clone(),
            status: s.status.map(|x| status_value(x).to_owned()),
            phases: s
                .phases
                .iter()
                .map(|p| phase_value(*p).to_owned())
                .collect(),
            study_type: s.study_type.clone(),
            conditions: s.conditions.clone(),
            sponsor: s.sponsor.clone(),
            countries,
            last_update: s.last_update.clone(),
        };
        let json = serde_json::to_string(&summary).unwrap_or_default();
        doc.add_text(f.summary, json);
        (doc, held)
    }

    /// Adds or replaces studies (by NCT number), and makes them searchable.
    pub fn upsert<'a>(&self, studies: impl IntoIterator<Item = &'a Study>) -> Result<usize> {
        let n = self.stage(studies)?;
        self.commit()?;
        Ok(n)
    }

    /// Adds or replaces studies without making them searchable yet ([`Self::commit`]): a
    /// build commits every many thousand studies, not every batch.
    pub fn stage<'a>(&self, studies: impl IntoIterator<Item = &'a Study>) -> Result<usize> {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        for s in studies {
            // Only a study this index holds has anything to delete: a delete is checked
            // against every segment at the next commit, which a build of many segments
            // would pay for each of its studies.
            let (doc, held) = self.document(s);
            if held {
                writer.delete_term(Term::from_field_text(self.fields.nct_id, s.nct_id.as_str()));
            }
            writer.add_document(doc)?;
            n += 1;
        }
        Ok(n)
    }

    /// How many segments the index is in (each adds a little to every search).
    pub fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Merges every segment into one and waits for it: after a build, so that searches
    /// pay the per-segment costs once.
    pub fn compact(&self) -> Result<()> {
        let ids = self.index.searchable_segment_ids()?;
        if ids.len() > 1 {
            let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let merge = writer.merge(&ids);
            drop(writer);
            merge.wait()?;
            self.reader.reload()?;
        }
        Ok(())
    }

    /// Makes what was staged searchable.
    pub fn commit(&self) -> Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        writer.commit()?;
        drop(writer);
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if !pending.is_empty() {
            let current = self.facet_lists();
            let mut next: FacetData = (*current).clone();
            for (ord, facets) in pending {
                next.set(ord as usize, &facets);
            }
            *self.lists.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        }
        self.reader.reload()?;
        Ok(())
    }

    fn facet_lists(&self) -> FacetLists {
        Arc::clone(&self.lists.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// How many studies the index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn any_of(&self, field: Field, c: &Clause) -> Box<dyn Query> {
        // A clause of the term table is its group's one term, tagged at indexing wherever
        // one of its forms stands.
        if let Some(id) = c.group {
            return Box::new(TermQuery::new(
                Term::from_field_text(field, &analyzer::group_term(id)),
                IndexRecordOption::WithFreqs,
            ));
        }
        let alts: Vec<(Occur, Box<dyn Query>)> = c
            .alternatives
            .iter()
            .map(|a| (Occur::Should, phrase_or_term(field, a)))
            .collect();
        Box::new(BooleanQuery::new(alts))
    }

    /// A clause: found anywhere in the study; found in what the study is about ranks higher.
    fn clause_query(&self, c: &Clause) -> Box<dyn Query> {
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, self.any_of(self.fields.all, c)),
            (
                Occur::Should,
                Box::new(BoostQuery::new(
                    self.any_of(self.fields.subject, c),
                    SUBJECT_BOOST,
                )),
            ),
        ]))
    }

    /// A clause found in what the study is about (title, conditions, keywords).
    pub(crate) fn clause_subject(&self, c: &Clause) -> Box<dyn Query> {
        self.any_of(self.fields.subject, c)
    }

    /// The query to run: every clause, no excluded one, every filter (values of one key
    /// are alternatives).
    pub fn build(&self, p: &Parsed) -> Box<dyn Query> {
        let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for c in &p.clauses {
            parts.push((Occur::Must, self.clause_query(c)));
        }
        for c in &p.excluded {
            parts.push((Occur::MustNot, self.clause_query(c)));
        }
        for key in FacetKey::ALL {
            let values: Vec<(Occur, Box<dyn Query>)> = p
                .filters
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(k, v)| {
                    let term = Term::from_facet(self.fields.facets, &facet(*k, &v.to_lowercase()));
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>,
                    )
                })
                .collect();
            if !values.is_empty() {
                parts.push((
                    Occur::Must,
                    Box::new(BoostQuery::new(Box::new(BooleanQuery::new(values)), 0.0)),
                ));
            }
        }
        if parts.iter().all(|(o, _)| *o == Occur::MustNot) {
            parts.push((Occur::Must, Box::new(tantivy::query::AllQuery)));
        }
        Box::new(BooleanQuery::new(parts))
    }

    fn summary(&self, searcher: &Searcher, addr: DocAddress) -> Result<(Summary, TantivyDocument)> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let json = doc
            .get_first(self.fields.summary)
            .and_then(|v| v.as_str())
            .unwrap_or("{}");
        let summary = serde_json::from_str(json).map_err(|e| Error::Corrupt(e.to_string()))?;
        Ok((summary, doc))
    }

    /// Runs a search.
    pub fn search(&self, r: &Request<'_>) -> Result<Results> {
        let searcher = self.reader.searcher();
        let query = self.build(r.query);
        let limit = r.limit.clamp(1, 100);
        let top = TopDocs::with_limit(limit).and_offset(r.offset);
        let lists = self.facet_lists();
        let facets = |places_rate| FacetIds {
            size: self.vocab.lock().map(|v| v.entries.len()).unwrap_or(0),
            lists: Arc::clone(&lists),
            places_rate,
        };
        // One pass finds the page, the total and the facets; the places' sample is sized
        // from a bound on the matches known before it (each clause's document frequency).
        let first_rate = if r.facets {
            places_rate(self.bound(&searcher, r.query)?)
        } else {
            None
        };
        let (addrs, total, tally) = match (r.sort, r.facets) {
            (Sort::Relevance, true) => {
                let (a, c, f) =
                    searcher.search(&query, &(top.order_by_score(), Count, facets(first_rate)))?;
                (a, c, Some(f))
            }
            (Sort::Relevance, false) => {
                let (a, c) = searcher.search(&query, &(top.order_by_score(), Count))?;
                (a, c, None)
            }
            (Sort::Updated, _) => {
                let by_date = top.order_by_u64_field("updated", Order::Desc);
                let (a, c, f) = if r.facets {
                    let (a, c, f) =
                        searcher.search(&query, &(by_date, Count, facets(first_rate)))?;
                    (a, c, Some(f))
                } else {
                    let (a, c) = searcher.search(&query, &(by_date, Count))?;
                    (a, c, None)
                };
                (a.into_iter().map(|(_, d)| (0.0, d)).collect(), c, f)
            }
        };
        // When the bound was far above the matches, the sample came out too small (or
        // there was no need for one): count the facets again at the right rate.
        let facet_counts = match tally {
            Some(t) if total > 0 => {
                let wanted = places_rate(total as u64);
                let every_match = t.candidates.len() as u64 == t.matches;
                let good = match (first_rate, wanted) {
                    (None, _) => true,
                    // Few matches: exact only if every one was gathered.
                    (Some(_), None) => every_match,
                    (Some(_), Some(_)) => t.candidates.len() as u64 >= MIN_SAMPLE,
                };
                let mut t = if good {
                    t
                } else {
                    searcher.search(&query, &facets(wanted))?
                };
                let most = wanted.map(|_| PLACES_EXACT_UP_TO);
                t.count_sampled_places(&lists, most);
                Some(t)
            }
            _ => None,
        };
        let mut hits = Vec::with_capacity(addrs.len());
        let snippet_gens = if r.snippets {
            let terms = self.highlight_terms(&searcher, r.query)?;
            let mut gens = Vec::new();
            for tf in [
                TextField::Title,
                TextField::Conditions,
                TextField::Interventions,
                TextField::Eligibility,
                TextField::Locations,
            ] {
                let g = SnippetGenerator::new(
                    terms.clone(),
                    TextAnalyzer::from(Analyzer),
                    self.fields.text(tf),
                    if tf == TextField::Title { 1000 } else { 220 },
                );
                gens.push((tf, g));
            }
            gens
        } else {
            Vec::new()
        };
        for (score, addr) in addrs {
            let (study, doc) = self.summary(&searcher, addr)?;
            let mut title = vec![Span {
                text: study.title.clone(),
                hit: false,
            }];
            let mut snippet = None;
            for (tf, g) in &snippet_gens {
                // The title, then the first other field that matched: snippets cost a pass
                // over the field's text, and a long site list is long.
                if *tf != TextField::Title && snippet.is_some() {
                    break;
                }
                let s = g.snippet_from_doc(&doc);
                if s.highlighted().is_empty() {
                    continue;
                }
                if *tf == TextField::Title {
                    title = spans(s.fragment(), s.highlighted());
                } else {
                    snippet = Some(Snippet {
                        field: *tf,
                        spans: spans(s.fragment(), s.highlighted()),
                    });
                }
            }
            hits.push(Hit {
                study,
                score,
                title,
                snippet,
            });
        }
        let facets = facet_counts
            .map(|c| self.facet_groups(&c, r.query))
            .unwrap_or_default();
        Ok(Results {
            total,
            hits,
            facets,
        })
    }

    /// At most how many studies match: the fewest any clause or filter can match (a
    /// clause matches at most the studies of all its alternatives, a phrase at most those of
    /// its rarest word; values of one filter add up).
    fn bound(&self, searcher: &Searcher, p: &Parsed) -> Result<u64> {
        let df = |field: Field, t: &str| searcher.doc_freq(&Term::from_field_text(field, t));
        let mut bound = searcher.num_docs();
        for c in &p.clauses {
            let mut n = 0u64;
            if let Some(id) = c.group {
                n = df(self.fields.all, &analyzer::group_term(id))?;
            } else {
                for alt in &c.alternatives {
                    let mut rarest = u64::MAX;
                    for t in alt {
                        rarest = rarest.min(df(self.fields.all, t)?);
                    }
                    n += if rarest == u64::MAX { 0 } else { rarest };
                }
            }
            bound = bound.min(n);
        }
        for key in FacetKey::ALL {
            let mut n = 0u64;
            let mut any = false;
            for (k, v) in &p.filters {
                if *k == key {
                    any = true;
                    n += searcher.doc_freq(&Term::from_facet(
                        self.fields.facets,
                        &facet(key, &v.to_lowercase()),
                    ))?;
                }
            }
            if any {
                bound = bound.min(n);
            }
        }
        Ok(bound)
    }

    /// The words to mark in results, weighted as tantivy's snippets weigh them (rarer counts
    /// more). A number inside a phrase with words (the `18` and `2` of `CLDN18.2`) is not
    /// marked on its own: every "2" of a text would be.
    fn highlight_terms(&self, searcher: &Searcher, p: &Parsed) -> Result<BTreeMap<String, f32>> {
        let mut out = BTreeMap::new();
        for c in &p.clauses {
            for alt in &c.alternatives {
                let words = alt.iter().any(|t| !t.chars().all(char::is_numeric));
                for t in alt {
                    if words && t.chars().all(char::is_numeric) {
                        continue;
                    }
                    let df = searcher.doc_freq(&Term::from_field_text(self.fields.all, t))?;
                    if df > 0 {
                        out.insert(t.clone(), 1.0 / (1.0 + df as f32));
                    }
                }
            }
        }
        Ok(out)
    }

    fn facet_groups(&self, tally: &FacetTally, p: &Parsed) -> Vec<FacetGroup> {
        let vocab = self.vocab.lock().unwrap_or_else(|e| e.into_inner());
        let sampled = tally.places_matches < tally.matches;
        // Each sampled study stands for this many matches.
        let scale = tally.matches as f64 / tally.places_matches.max(1) as f64;
        // (count, value number, selected) by key: a broad search touches thousands of
        // sponsors and cities, of which a dozen are shown, so only those are spelled out.
        let mut by_key: BTreeMap<FacetKey, Vec<(u64, u32, bool)>> = BTreeMap::new();
        for &id in &tally.touched {
            let count = tally.counts[id as usize];
            let Some((key, lower, _)) = vocab.entries.get(id as usize) else {
                continue;
            };
            let selected = p.filters.iter().any(|(k, v)| k == key && v == lower);
            let count = if sampled && key.is_place() {
                rounded(f64::from(count) * scale)
            } else {
                u64::from(count)
            };
            by_key.entry(*key).or_default().push((count, id, selected));
        }
        let shown = |id: u32| vocab.entries.get(id as usize).map_or("", |e| e.2.as_str());
        FacetKey::ALL
            .into_iter()
            .filter_map(|key| {
                let mut values = by_key.remove(&key)?;
                let order = |a: &(u64, u32, bool), b: &(u64, u32, bool)| {
                    b.0.cmp(&a.0).then_with(|| shown(a.1).cmp(shown(b.1)))
                };
                // Selected values stay listed, however few they count.
                let mut kept: Vec<(u64, u32, bool)> =
                    values.iter().filter(|v| v.2).copied().collect();
                kept.sort_unstable_by(order);
                values.retain(|v| !v.2);
                let room = FACET_VALUES.saturating_sub(kept.len());
                if values.len() > room && room > 0 {
                    values.select_nth_unstable_by(room - 1, order);
                    values.truncate(room);
                }
                values.sort_unstable_by(order);
                kept.extend(values.into_iter().take(room));
                Some(FacetGroup {
                    key,
                    values: kept
                        .into_iter()
                        .map(|(count, id, selected)| FacetCount {
                            value: shown(id).to_owned(),
                            count,
                            selected,
                        })
                        .collect(),
                    approximate: sampled && key.is_place(),
                })
            })
            .collect()
    }

    /// Whether a document matches a query (for saying why it was suggested).
    pub(crate) fn matches(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        addr: DocAddress,
    ) -> Result<bool> {
        let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
        let mut scorer = weight.scorer(searcher.segment_reader(addr.segment_ord), 1.0)?;
        // A fresh scorer stands on its first match; seeking backwards is not allowed.
        if scorer.doc() > addr.doc_id {
            return Ok(false);
        }
        Ok(scorer.seek(addr.doc_id) == addr.doc_id)
    }

    pub(crate) fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    pub(crate) fn clause(&self, c: &Clause) -> Box<dyn Query> {
        self.clause_query(c)
    }

    pub(crate) fn facet_term(&self, key: FacetKey, value: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_facet(self.fields.facets, &facet(key, &value.to_lowercase())),
            IndexRecordOption::Basic,
        ))
    }

    pub(crate) fn load(&self, searcher: &Searcher, addr: DocAddress) -> Result<Summary> {
        Ok(self.summary(searcher, addr)?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_keep_two_significant_digits() {
        assert_eq!(rounded(87.4), 87);
        assert_eq!(rounded(1_234.0), 1_200);
        assert_eq!(rounded(12_550.0), 13_000);
        assert_eq!(rounded(99.6), 100);
    }

    #[test]
    fn a_chunk_keeps_each_studys_latest_list_and_sheds_replaced_ones() {
        let mut chunk = Chunk::new();
        chunk.set(7, &[1, 2, 3]);
        assert_eq!(chunk.list(7), Some(&[1, 2, 3][..]));
        assert_eq!(chunk.list(8), Some(&[][..]));
        for n in 0..10_000u32 {
            chunk.set(3, &[n, n + 1]);
        }
        assert_eq!(chunk.list(3), Some(&[9_999, 10_000][..]));
        assert_eq!(chunk.list(7), Some(&[1, 2, 3][..]));
        assert!(chunk.ids.len() < 2 * 5 + 4096 + 2, "{}", chunk.ids.len());
    }

    #[test]
    fn a_replaced_study_moves_between_the_value_sets() {
        let mut data = FacetData::default();
        let study = |few: Vec<u32>, sponsor| StudyFacets {
            few,
            sponsor,
            places: vec![9],
        };
        data.set(70, &study(vec![1, 2], Some(4)));
        let holds = |data: &FacetData, id: u32, ord: usize| {
            data.few
                .iter()
                .find(|(v, _)| *v == id)
                .is_some_and(|(_, s)| s.get(ord / 64).is_some_and(|w| w & (1 << (ord % 64)) != 0))
        };
        assert!(holds(&data, 1, 70) && holds(&data, 2, 70) && !holds(&data, 3, 70));
        let before = data.clone();
        data.set(70, &study(vec![2, 3], None));
        assert!(!holds(&data, 1, 70) && holds(&data, 2, 70) && holds(&data, 3, 70));
        assert_eq!(data.sponsor[70], NONE);
        // The snapshot a search holds is not changed.
        assert!(holds(&before, 1, 70) && before.sponsor[70] == 4);
    }

    #[test]
    fn a_sample_of_large_studies_is_cut_by_what_it_costs() {
        let mut data = FacetData::default();
        for ord in 0..1_000usize {
            let size = if ord % 2 == 0 { 1_000 } else { 10 };
            let places: Vec<u32> = (0..size).collect();
            data.set(
                ord,
                &StudyFacets {
                    places,
                    ..StudyFacets::default()
                },
            );
        }
        let mut tally = FacetTally {
            counts: vec![0; 1_000],
            matches: 1_000,
            candidates: (0..1_000u32)
                .map(|o| (sample_key(u64::from(o)), o))
                .collect(),
            ..FacetTally::default()
        };
        tally.count_sampled_places(&data, Some(1_000));
        // About 300,000 values: some 590 studies, half of them large, by lowest key.
        let spent: u32 = (0..1_000).map(|i| tally.counts[i]).max().unwrap_or(0);
        assert!(
            tally.places_matches > 500 && tally.places_matches < 700,
            "{}",
            tally.places_matches
        );
        assert_eq!(u64::from(spent), tally.places_matches);
        // Half the studies sampled are the large ones, as among all: the cut keeps it uniform.
        let large = u64::from(tally.counts[999]) as f64 / tally.places_matches as f64;
        assert!((0.4..0.6).contains(&large), "{large}");
    }

    #[test]
    fn a_sample_takes_about_its_share() {
        let rate = (0.1 * f64::from(u32::MAX)) as u32;
        let n = (0..100_000u64).filter(|&o| sample_key(o) <= rate).count();
        assert!((9_500..=10_500).contains(&n), "{n}");
    }
}
