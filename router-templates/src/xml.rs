//! XML escaping for template output, and the filters templates may use.

use std::net::IpAddr;

use minijinja::value::Value;
use minijinja::{AutoEscape, ErrorKind, Output, State};

/// The auto-escape mode of every `*.xml.j2` template.
pub(crate) const XML_ESCAPE: &str = "xml";

/// Escapes text for an XML element or attribute value. Characters XML 1.0
/// cannot carry at all (most C0 controls) are refused, not dropped.
pub(crate) fn escape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(format!(
                    "character U+{:04X} cannot appear in XML 1.0",
                    c as u32
                ));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// minijinja formatter: `{{ value }}` in an XML template is escaped; printing
/// `none` is a template bug (an optional value used without `{% if %}`), so it
/// fails instead of writing the word "none" into router config.
pub(crate) fn formatter(
    out: &mut Output,
    state: &mut State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if *state.auto_escape() != AutoEscape::Custom(XML_ESCAPE.into()) || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    if value.is_none() || value.is_undefined() {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            "printed a none/undefined value; guard optional values with {% if %}",
        ));
    }
    let escaped = escape(&value.to_string())
        .map_err(|detail| minijinja::Error::new(ErrorKind::InvalidOperation, detail))?;
    out.write_str(&escaped).map_err(minijinja::Error::from)
}

fn split_cidr(cidr: &str) -> Result<(IpAddr, u8), minijinja::Error> {
    let bad = || {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("{cidr:?} is not an address with a prefix length (e.g. 169.254.10.1/31)"),
        )
    };
    let (ip, len) = cidr.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(bad());
    }
    Ok((ip, len))
}

/// `{{ local_address | ip }}`: `169.254.10.1/31` -> `169.254.10.1`.
pub(crate) fn ip_filter(cidr: &str) -> Result<String, minijinja::Error> {
    split_cidr(cidr).map(|(ip, _)| ip.to_string())
}

/// `{{ local_address | prefix_length }}`: `169.254.10.1/31` -> `31`.
pub(crate) fn prefix_length_filter(cidr: &str) -> Result<u8, minijinja::Error> {
    split_cidr(cidr).map(|(_, len)| len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_refuses_controls() {
        assert_eq!(
            escape(r#"a<b>&"c'"#).unwrap(),
            "a&lt;b&gt;&amp;&quot;c&apos;"
        );
        assert_eq!(escape("ge-0/0/1").unwrap(), "ge-0/0/1");
        assert!(escape("bell\u{7}").is_err());
    }

    #[test]
    fn cidr_filters() {
        assert_eq!(ip_filter("169.254.10.1/31").unwrap(), "169.254.10.1");
        assert_eq!(prefix_length_filter("169.254.10.1/31").unwrap(), 31);
        assert!(ip_filter("169.254.10.1").is_err());
        assert!(prefix_length_filter("169.254.10.1/33").is_err());
        assert!(ip_filter("nope/24").is_err());
    }
}
