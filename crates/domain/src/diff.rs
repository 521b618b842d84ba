//! Fact-level difference between two versions of a case record (as JSON): every place that
//! changed, by JSON pointer, with the value before and after. Lists of facts are compared
//! item by item; an item present on one side only is added or removed whole.

use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// RFC 6901 pointer into the record.
    pub pointer: String,
    pub kind: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// Every change from `a` to `b`, in document order.
pub fn diff(a: &Value, b: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", a, b, &mut out);
    out
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn walk(at: &str, a: &Value, b: &Value, out: &mut Vec<Change>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let here = format!("{at}/{}", escape(k));
                match y.get(k) {
                    Some(vb) => walk(&here, va, vb, out),
                    None => out.push(Change {
                        pointer: here,
                        kind: ChangeKind::Removed,
                        before: Some(va.clone()),
                        after: None,
                    }),
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    out.push(Change {
                        pointer: format!("{at}/{}", escape(k)),
                        kind: ChangeKind::Added,
                        before: None,
                        after: Some(vb.clone()),
                    });
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let here = format!("{at}/{i}");
                match (x.get(i), y.get(i)) {
                    (Some(va), Some(vb)) => walk(&here, va, vb, out),
                    (Some(va), None) => out.push(Change {
                        pointer: here,
                        kind: ChangeKind::Removed,
                        before: Some(va.clone()),
                        after: None,
                    }),
                    (None, Some(vb)) => out.push(Change {
                        pointer: here,
                        kind: ChangeKind::Added,
                        before: None,
                        after: Some(vb.clone()),
                    }),
                    (None, None) => {}
                }
            }
        }
        _ if a != b => out.push(Change {
            pointer: at.to_owned(),
            kind: ChangeKind::Changed,
            before: Some(a.clone()),
            after: Some(b.clone()),
        }),
        _ => {}
    }
}

/// A place both sides changed, to different values: the other's value and one's own.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conflict {
    pub pointer: String,
    pub theirs: Option<Value>,
    pub mine: Option<Value>,
}

/// Whether two pointers touch the same place (equal, or one inside the other).
fn overlaps(a: &str, b: &str) -> bool {
    let inside =
        |x: &str, y: &str| x.len() > y.len() && x.starts_with(y) && x[y.len()..].starts_with('/');
    a == b || inside(a, b) || inside(b, a)
}

/// The value at an RFC 6901 pointer.
pub fn at<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    v.pointer(pointer)
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Sets the value at `pointer`, making the objects on the way; an array index at or past
/// the end appends.
fn set(root: &mut Value, pointer: &str, value: Value) {
    let tokens: Vec<String> = pointer.split('/').skip(1).map(unescape).collect();
    let mut here = root;
    for (i, t) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len();
        if here.is_null() {
            *here = Value::Object(serde_json::Map::new());
        }
        here = match here {
            Value::Object(map) => {
                if last {
                    map.insert(t.clone(), value);
                    return;
                }
                map.entry(t.clone()).or_insert(Value::Null)
            }
            Value::Array(items) => {
                let n = t.parse::<usize>().unwrap_or(items.len()).min(items.len());
                if n == items.len() {
                    items.push(Value::Null);
                }
                if last {
                    items[n] = value;
                    return;
                }
                &mut items[n]
            }
            _ => return,
        };
    }
}

fn remove(root: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = unescape(last);
    match root.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Ok(n) = last.parse::<usize>()
                && n < items.len()
            {
                items.remove(n);
            }
        }
        _ => {}
    }
}

/// Three-way merge of a record: `theirs` was saved after `base`, from which `mine` was
/// edited. One's own changes are laid over theirs; where both changed the same fact to
/// different values, one's own value is kept and the place is returned as a conflict for
/// the person to decide.
pub fn merge(base: &Value, theirs: &Value, mine: &Value) -> (Value, Vec<Conflict>) {
    let their_changes = diff(base, theirs);
    let my_changes = diff(base, mine);
    let mut merged = theirs.clone();
    let mut conflicts = Vec::new();
    let mut removals = Vec::new();
    for c in my_changes {
        if let Some(t) = their_changes
            .iter()
            .find(|t| overlaps(&t.pointer, &c.pointer))
        {
            let (a, b) = (at(theirs, &t.pointer), at(mine, &t.pointer));
            if a != b {
                conflicts.push(Conflict {
                    pointer: t.pointer.clone(),
                    theirs: a.cloned(),
                    mine: b.cloned(),
                });
            }
        }
        match c.after {
            Some(v) => set(&mut merged, &c.pointer, v),
            None => removals.push(c.pointer),
        }
    }
    // Later items first, so that earlier indices still point where they did.
    for p in removals.iter().rev() {
        remove(&mut merged, p);
    }
    conflicts.dedup_by(|a, b| a.pointer == b.pointer);
    (merged, conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_each_changed_fact_by_pointer() {
        let a = json!({"ecog": [{"value": 1}], "primary": {"site": "stomach", "stage": "III"}});
        let b = json!({"ecog": [{"value": 1}, {"value": 2}], "primary": {"site": "stomach", "stage": "IV"}, "her2/x": true});
        let d = diff(&a, &b);
        assert_eq!(d.len(), 3, "{d:#?}");
        assert_eq!(d[0].pointer, "/ecog/1");
        assert_eq!(d[0].kind, ChangeKind::Added);
        assert_eq!(d[1].pointer, "/primary/stage");
        assert_eq!(d[1].before, Some(json!("III")));
        assert_eq!(d[1].after, Some(json!("IV")));
        assert_eq!(d[2].pointer, "/her2~1x");
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn merge_keeps_both_sides_and_names_what_both_changed() {
        let base = json!({"primary": {"stage": "III", "site": "stomach"}, "ecog": [{"score": 1}]});
        let theirs = json!({"primary": {"stage": "IV", "site": "stomach"}, "ecog": [{"score": 1}], "msi": [{"status": "mss"}]});
        let mine = json!({"primary": {"stage": "IIIB", "site": "gej"}, "ecog": [{"score": 1}, {"score": 2}]});
        let (merged, conflicts) = merge(&base, &theirs, &mine);
        assert_eq!(merged["primary"]["site"], "gej", "mine only: kept");
        assert_eq!(merged["msi"][0]["status"], "mss", "theirs only: kept");
        assert_eq!(merged["ecog"][1]["score"], 2, "my added item: kept");
        assert_eq!(merged["primary"]["stage"], "IIIB", "both: mine, and named");
        assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
        assert_eq!(conflicts[0].pointer, "/primary/stage");
        assert_eq!(conflicts[0].theirs, Some(json!("IV")));
        // The same change on both sides is no conflict; removals apply.
        let (merged, conflicts) = merge(
            &base,
            &theirs,
            &json!({"primary": {"stage": "IV", "site": "stomach"}}),
        );
        assert!(conflicts.is_empty(), "{conflicts:#?}");
        assert!(merged.get("ecog").is_none(), "{merged}");
        assert!(!overlaps("/ecog/1", "/ecog/10"));
    }
}
