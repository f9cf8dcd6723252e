//! Cursor pagination for every list endpoint: `?limit=&cursor=` in, and
//! `next_cursor` out (absent on the last page).
//!
//! A cursor is the sort key of the last item sent, as base64url JSON. It is
//! opaque to clients, and it stays valid when rows are added or removed
//! (unlike an offset, a page never repeats or skips an item because another
//! was created meanwhile).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use crate::problem::{FieldError, Problem};

pub(crate) const DEFAULT_LIMIT: u64 = 50;
pub(crate) const MAX_LIMIT: u64 = 200;

/// The paging half of a list's query string.
#[derive(Debug, Default, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// Items per page, 1-200; 50 when absent.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// `next_cursor` from the previous page; absent for the first page.
    pub cursor: Option<String>,
}

/// A checked page request: how many items, and after which sort key.
pub(crate) struct Page<K> {
    pub limit: u64,
    pub after: Option<K>,
}

impl PageParams {
    /// Checks the limit and decodes the cursor into the list's sort key.
    /// Problems are added to `errors`, so that they are reported together
    /// with the list's filters.
    pub(crate) fn check<K: DeserializeOwned>(&self, errors: &mut Vec<FieldError>) -> Page<K> {
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(n) => {
                errors.push(FieldError {
                    field: "limit".into(),
                    code: "out_of_range".into(),
                    detail: format!("limit must be 1-{MAX_LIMIT}, not {n}"),
                });
                DEFAULT_LIMIT
            }
        };
        let after = match self.cursor.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match decode(raw) {
                Some(k) => Some(k),
                None => {
                    errors.push(FieldError {
                        field: "cursor".into(),
                        code: "invalid_cursor".into(),
                        detail: "cursor is not a next_cursor this list returned; \
                                 start again without one"
                            .into(),
                    });
                    None
                }
            },
        };
        Page { limit, after }
    }

    /// [`check`](Self::check) for a list with no filters of its own.
    pub(crate) fn checked<K: DeserializeOwned>(&self) -> Result<Page<K>, Problem> {
        let mut errors = Vec::new();
        let page = self.check(&mut errors);
        if errors.is_empty() {
            Ok(page)
        } else {
            Err(Problem::invalid(errors))
        }
    }
}

pub(crate) fn encode<K: Serialize>(key: &K) -> String {
    // Serializing a key of plain values cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

pub(crate) fn decode<K: DeserializeOwned>(raw: &str) -> Option<K> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Cuts a page from rows read with `limit + 1` (the extra row only tells
/// that there is a next page) and names the cursor of the next page.
pub(crate) fn finish<T, K: Serialize>(
    mut rows: Vec<T>,
    limit: u64,
    key: impl Fn(&T) -> K,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|last| encode(&key(last)));
    (rows, next)
}

/// Pages a list that is read whole, in `key` order: inventory, tenants and
/// keys are counted in hundreds at most.
pub(crate) fn slice<T, K: Serialize + Ord>(
    mut rows: Vec<T>,
    page: &Page<K>,
    key: impl Fn(&T) -> K,
) -> (Vec<T>, Option<String>) {
    rows.sort_by_key(&key);
    let rest: Vec<T> = match &page.after {
        None => rows,
        Some(after) => rows.into_iter().filter(|r| key(r) > *after).collect(),
    };
    let rows: Vec<T> = rest.into_iter().take(page.limit as usize + 1).collect();
    finish(rows, page.limit, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(limit: Option<u64>, cursor: Option<&str>) -> PageParams {
        PageParams {
            limit,
            cursor: cursor.map(str::to_string),
        }
    }

    #[test]
    fn pages_cover_a_list_once_in_order() {
        let rows: Vec<u32> = (1..=7).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page: Page<u32> = params(Some(3), cursor.as_deref()).checked().unwrap();
            let (items, next) = slice(rows.clone(), &page, |r| *r);
            seen.extend(items);
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, rows);
        // An exact multiple of the limit ends without an empty extra page.
        let page: Page<u32> = params(Some(7), None).checked().unwrap();
        assert_eq!(slice(rows.clone(), &page, |r| *r).1, None);
    }

    #[test]
    fn bad_limits_and_cursors_name_the_parameter() {
        let mut errors = Vec::new();
        let _: Page<u32> = params(Some(0), Some("not base64 json")).check(&mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["limit", "cursor"]);
        assert!(params(Some(MAX_LIMIT + 1), None).checked::<u32>().is_err());
        // A cursor of another list's key type is refused, not misread.
        let other = encode(&("2026-01-01", "x"));
        assert!(params(None, Some(&other)).checked::<u32>().is_err());
        let page: Page<u32> = params(None, Some("")).checked().unwrap();
        assert_eq!((page.limit, page.after), (DEFAULT_LIMIT, None));
    }
}
