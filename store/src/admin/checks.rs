//! Field checks shared by the inventory objects: names, hosts, SSH
//! fingerprints, free text and peer ASNs.

use std::net::IpAddr;

use onramp_checks::Coded;

use super::error::Issues;

/// `[a-z0-9-]{1,63}`: PE and pool names.
pub fn valid_name(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An IP address, or a hostname (RFC 1123 labels; the last label is not all
/// digits, so `10.0.0.256` is refused rather than looked up).
pub fn valid_host(h: &str) -> bool {
    if h.parse::<IpAddr>().is_ok() {
        return true;
    }
    let h = h.strip_suffix('.').unwrap_or(h);
    if h.is_empty() || h.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = h.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    labels.iter().all(label_ok)
        && !labels
            .last()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

/// `SHA256:` and 43 base64 characters (an unpadded SHA-256 digest), as
/// `ssh-keygen -lf` prints it.
pub fn valid_fingerprint(f: &str) -> bool {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let Some(b) = f.strip_prefix("SHA256:") else {
        return false;
    };
    let bytes = b.as_bytes();
    bytes.len() == 43
        && bytes.iter().all(|c| B64.contains(c))
        // 256 bits in 43 sextets leave the last two bits zero.
        && B64
            .iter()
            .position(|c| *c == bytes[42])
            .is_some_and(|i| i % 4 == 0)
}

/// Printable ASCII without spaces, 1..=64 characters: interface names such
/// as `ge-0/0/1` or `HundredGigE0/0/0/1`, and SSH usernames.
pub(super) fn valid_printable(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

pub(super) fn valid_text(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
}

/// An ASN that identifies an AS: a peer's, or a route target's
/// administrator.
pub(super) fn check_asn(issues: &mut Issues, field: &str, asn: i64) {
    if let Err(e) = onramp_checks::asn::usable(asn) {
        issues.add(field, e.code(), e.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in [
            "127.0.0.1",
            "::1",
            "2001:db8::1",
            "pe1",
            "pe1.par.example.net",
            "pe1.example.net.",
            "a-b",
        ] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in [
            "",
            "10.0.0.256",
            "1.2.3",
            "pe 1",
            "-pe",
            "pe-",
            "pe_1",
            "a..b",
            "[::1]",
            "host:830",
        ] {
            assert!(!valid_host(bad), "{bad}");
        }
    }

    #[test]
    fn fingerprints() {
        assert!(valid_fingerprint(
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
        ));
        assert!(!valid_fingerprint(
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2"
        ));
        assert!(!valid_fingerprint(
            "MD5:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
        ));
        assert!(!valid_fingerprint(
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2="
        ));
        // Its last sextet would carry bits past 256.
        assert!(!valid_fingerprint(
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2t"
        ));
    }

    #[test]
    fn names() {
        assert!(valid_name("pe1"));
        assert!(valid_name("private-2byte"));
        assert!(!valid_name("PE1"));
        assert!(!valid_name(""));
        assert!(!valid_name(&"a".repeat(64)));
    }
}
