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

/// The facet values of every study by its number, as of the last commit; replaced whole at
/// each commit, so a search reads one snapshot without a lock.
type FacetLists = Arc<Vec<Option<Arc<[u32]>>>>;

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

/// Counts the facet values of the matching studies: each study's number from the `ord`
/// fast field, its values from the in-memory lists, a counter per value (tantivy's facet
/// collector walks the facet dictionary on every search, which grows with every sponsor
/// and city; a multi-valued fast field costs a lookup per value).
struct FacetIds {
    size: usize,
    lists: FacetLists,
}

struct SegmentFacetIds {
    column: tantivy::columnar::Column<u64>,
    lists: FacetLists,
    counts: Vec<u32>,
    /// The values counted at least once, so that merging and reading the counts cost what
    /// the matches touched, not the size of the vocabulary.
    touched: Vec<u32>,
}

/// Counts by value number, with the numbers counted.
#[derive(Default)]
pub(crate) struct FacetTally {
    counts: Vec<u32>,
    touched: Vec<u32>,
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
            counts: vec![0; self.size],
            touched: Vec::new(),
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
        let Some(Some(list)) = self
            .column
            .first(doc)
            .and_then(|ord| self.lists.get(ord as usize))
        else {
            return;
        };
        for &id in list.iter() {
            // A value numbered after this search began is not counted.
            if let Some(c) = self.counts.get_mut(id as usize) {
                if *c == 0 {
                    self.touched.push(id);
                }
                *c += 1;
            }
        }
    }

    fn harvest(self) -> FacetTally {
        FacetTally {
            counts: self.counts,
            touched: self.touched,
        }
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
    pending: Mutex<Vec<(u64, Arc<[u32]>)>>,
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
            .register(analyzer::NAME, TextAnalyzer::from(Analyzer));
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
            lists: std::sync::RwLock::new(Arc::new(Vec::new())),
            pending: Mutex::new(Vec::new()),
        })
    }

    fn document(&self, s: &Study) -> TantivyDocument {
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
        let ord = vocab.study(s.nct_id.as_str());
        doc.add_u64(f.ord, ord);
        let mut ids: Vec<u32> = Vec::new();
        let mut add = |doc: &mut TantivyDocument, key: FacetKey, value: &str| {
            let value = value.trim();
            if value.is_empty() {
                return;
            }
            let lower = value.to_lowercase();
            let id = vocab.id(key, &lower, value);
            doc.add_facet(f.facets, facet(key, &lower));
            ids.push(u32::try_from(id).unwrap_or(u32::MAX));
        };
        if let Some(st) = s.status {
            add(&mut doc, FacetKey::Status, status_value(st));
        }
        for p in &s.phases {
            add(&mut doc, FacetKey::Phase, phase_value(*p));
        }
        if let Some(t) = &s.study_type {
            add(&mut doc, FacetKey::Type, &t.replace('_', " "));
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
        for c in &countries {
            add(&mut doc, FacetKey::Country, c);
        }
        for c in &cities {
            add(&mut doc, FacetKey::City, c);
        }
        if let Some(sp) = &s.sponsor {
            add(&mut doc, FacetKey::Sponsor, sp);
        }
        for g in age_groups(s) {
            add(&mut doc, FacetKey::Age, g);
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
            add(&mut doc, FacetKey::Intervention, k);
        }
        drop(vocab);
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((ord, ids.into()));
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
        doc
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
            writer.delete_term(Term::from_field_text(self.fields.nct_id, s.nct_id.as_str()));
            writer.add_document(self.document(s))?;
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
            let mut next: Vec<Option<Arc<[u32]>>> = (*current).clone();
            for (ord, ids) in pending {
                let i = ord as usize;
                if next.len() <= i {
                    next.resize(i + 1, None);
                }
                next[i] = Some(ids);
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
        let facet_collector = FacetIds {
            size: self.vocab.lock().map(|v| v.entries.len()).unwrap_or(0),
            lists: self.facet_lists(),
        };
        let (addrs, total, facet_counts) = match r.sort {
            Sort::Relevance if r.facets => {
                let (a, c, f) =
                    searcher.search(&query, &(top.order_by_score(), Count, facet_collector))?;
                (a, c, Some(f))
            }
            Sort::Relevance => {
                let (a, c) = searcher.search(&query, &(top.order_by_score(), Count))?;
                (a, c, None)
            }
            Sort::Updated => {
                let by_date = top.order_by_u64_field("updated", Order::Desc);
                let (a, c, f) = if r.facets {
                    let (a, c, f) = searcher.search(&query, &(by_date, Count, facet_collector))?;
                    (a, c, Some(f))
                } else {
                    let (a, c) = searcher.search(&query, &(by_date, Count))?;
                    (a, c, None)
                };
                (a.into_iter().map(|(_, d)| (0.0, d)).collect(), c, f)
            }
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
        let mut by_key: BTreeMap<FacetKey, Vec<FacetCount>> = BTreeMap::new();
        for &id in &tally.touched {
            let count = tally.counts[id as usize];
            let Some((key, lower, shown)) = vocab.entries.get(id as usize) else {
                continue;
            };
            let selected = p.filters.iter().any(|(k, v)| k == key && v == lower);
            by_key.entry(*key).or_default().push(FacetCount {
                value: shown.clone(),
                count: u64::from(count),
                selected,
            });
        }
        FacetKey::ALL
            .into_iter()
            .filter_map(|key| {
                let mut values = by_key.remove(&key)?;
                values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                // Selected values stay listed, however few they count.
                let mut kept: Vec<FacetCount> =
                    values.iter().filter(|v| v.selected).cloned().collect();
                for v in values {
                    if kept.len() >= FACET_VALUES {
                        break;
                    }
                    if !v.selected {
                        kept.push(v);
                    }
                }
                Some(FacetGroup { key, values: kept })
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
