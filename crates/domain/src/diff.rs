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
}
