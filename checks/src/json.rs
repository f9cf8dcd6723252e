//! JSON request bodies as I-JSON (RFC 7493) requires: no object with two
//! members of the same name. serde_json keeps the last of them silently,
//! so `{"kind":"x","kind":"aws-hosted-vif"}` would be read as something
//! the sender's own tools may show differently. The body is read once,
//! by serde_json, through a visitor that notices a repeated name.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::Coded;

/// Why a body was refused.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("the body is not valid JSON: {0}")]
    Syntax(serde_json::Error),
    /// `path` names the member as the API names fields: `a.b[2].c`.
    #[error("the member `{path}` appears more than once; send each member once")]
    DuplicateMember { path: String },
}

impl Coded for JsonError {
    fn code(&self) -> &'static str {
        match self {
            JsonError::Syntax(_) => "malformed_json",
            JsonError::DuplicateMember { .. } => "duplicate_member",
        }
    }
}

/// `body` as a JSON value, refusing a repeated member name in any object,
/// however deep.
pub fn parse(body: &[u8]) -> Result<Value, JsonError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = Strict {
        path: String::new(),
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (parsed, duplicate.into_inner()) {
        (Err(_), Some(path)) => Err(JsonError::DuplicateMember { path }),
        (Err(e), None) => Err(JsonError::Syntax(e)),
        (Ok(v), _) => Ok(v),
    }
}

/// Builds the value at `path`; the first duplicate found is written to
/// `duplicate` (serde's errors carry only text) before failing the parse.
struct Strict<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl Strict<'_> {
    fn child(&self, segment: fmt::Arguments<'_>) -> Self {
        Strict {
            path: format!("{}{segment}", self.path),
            duplicate: self.duplicate,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so this is never Null in practice.
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self.child(format_args!("[{}]", items.len())))? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let child = if self.path.is_empty() {
                self.child(format_args!("{name}"))
            } else {
                self.child(format_args!(".{name}"))
            };
            if members.contains_key(&name) {
                let message = format!("duplicate member `{}`", child.path);
                *self.duplicate.borrow_mut() = Some(child.path);
                return Err(de::Error::custom(message));
            }
            let v = map.next_value_seed(child)?;
            members.insert(name, v);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn duplicate(body: &str) -> Option<String> {
        match parse(body.as_bytes()) {
            Err(JsonError::DuplicateMember { path }) => Some(path),
            Err(e) => panic!("{body}: {e}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn a_body_without_repeats_parses_as_serde_json_would() {
        let body = r#"{"kind":"aws-hosted-vif","n":-1,"big":18446744073709551615,"f":1.5,
            "a":[{"x":1},{"x":2}],"o":{"x":null,"y":true,"s":"\u00e9"}}"#;
        assert_eq!(
            parse(body.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(body).unwrap()
        );
        assert_eq!(parse(b"[]").unwrap(), json!([]));
        assert_eq!(parse(b" 3 ").unwrap(), json!(3));
    }

    #[test]
    fn a_repeated_member_is_named_by_its_path_however_deep() {
        assert_eq!(
            duplicate(r#"{"kind":"x","kind":"aws-hosted-vif"}"#).as_deref(),
            Some("kind")
        );
        assert_eq!(
            duplicate(r#"{"values":{"a":"1","b":"2","a":"3"}}"#).as_deref(),
            Some("values.a")
        );
        assert_eq!(
            duplicate(r#"{"l":[{"x":1},{"y":1,"y":2}]}"#).as_deref(),
            Some("l[1].y")
        );
        assert_eq!(
            duplicate(r#"[[{"z":1,"z":1}]]"#).as_deref(),
            Some("[0][0].z")
        );
        // The same name in two objects is no repeat.
        assert_eq!(duplicate(r#"{"a":{"x":1},"b":{"x":1}}"#), None);
        // Names are compared after unescaping, as a reader would see them.
        assert_eq!(duplicate(r#"{"k":1,"\u006b":2}"#).as_deref(), Some("k"));
    }

    #[test]
    fn malformed_json_is_a_syntax_error() {
        for bad in ["", "{", r#"{"a":1,}"#, "{} {}", r#"{"a":1"#, "nul"] {
            match parse(bad.as_bytes()) {
                Err(e @ JsonError::Syntax(_)) => assert_eq!(e.code(), "malformed_json"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn nesting_is_bounded_as_serde_json_bounds_it() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(matches!(parse(deep.as_bytes()), Err(JsonError::Syntax(_))));
    }
}
