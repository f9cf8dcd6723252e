//! The bandwidth names the clouds use, as a rate: AWS's `50Mbps` and
//! `1Gbps` (hosted VIFs and connections, and the ticket providers that
//! follow them) and Google's `BPS_50M` and `BPS_1G`. Which names a kind
//! accepts is the kind's rule; this only reads them.

/// The rate a bandwidth name stands for, in Mbps; None for a name that is
/// neither form.
pub fn mbps(name: &str) -> Option<u32> {
    let (number, per) = if let Some(google) = name.strip_prefix("BPS_") {
        match google.split_at_checked(google.len().checked_sub(1)?)? {
            (n, "M") => (n, 1),
            (n, "G") => (n, 1_000),
            _ => return None,
        }
    } else if let Some(n) = name.strip_suffix("Mbps") {
        (n, 1)
    } else {
        (name.strip_suffix("Gbps")?, 1_000)
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number
        .parse::<u32>()
        .ok()?
        .checked_mul(per)
        .filter(|m| *m > 0)
}

#[cfg(test)]
mod tests {
    use super::mbps;

    #[test]
    fn aws_and_google_names_read_as_mbps() {
        assert_eq!(mbps("50Mbps"), Some(50));
        assert_eq!(mbps("1Gbps"), Some(1_000));
        assert_eq!(mbps("25Gbps"), Some(25_000));
        assert_eq!(mbps("BPS_50M"), Some(50));
        assert_eq!(mbps("BPS_10G"), Some(10_000));
    }

    #[test]
    fn anything_else_is_not_a_rate() {
        for bad in [
            "",
            "Mbps",
            "BPS_",
            "BPS_G",
            "50",
            "50mbps",
            "-1Gbps",
            "+5Gbps",
            "0Mbps",
            "BPS_1T",
            "1.5Gbps",
            "9999999Gbps",
        ] {
            assert_eq!(mbps(bad), None, "{bad}");
        }
    }
}
