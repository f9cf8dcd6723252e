//! 802.1Q VLAN ids: 0 means "priority tag, no VLAN" and 4095 is reserved,
//! so neither can carry a customer's traffic.

use crate::Coded;

/// Why a VLAN id was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VlanError {
    #[error("VLAN {0} is outside 1-4094")]
    OutOfRange(i64),
}

impl Coded for VlanError {
    fn code(&self) -> &'static str {
        match self {
            VlanError::OutOfRange(_) => "out_of_range",
        }
    }
}

/// `vlan` if it is an 802.1Q VLAN id, 1-4094.
pub fn id(vlan: i64) -> Result<u16, VlanError> {
    match u16::try_from(vlan) {
        Ok(v @ 1..=4094) => Ok(v),
        _ => Err(VlanError::OutOfRange(vlan)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_to_4094_are_vlans() {
        for ok in [1, 2, 100, 4094] {
            assert_eq!(id(ok), Ok(ok as u16));
        }
        for bad in [0, 4095, 4096, 65_536, -1, i64::MAX] {
            assert_eq!(id(bad).unwrap_err().code(), "out_of_range", "{bad}");
        }
    }
}
