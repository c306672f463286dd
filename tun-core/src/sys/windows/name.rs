//! Adapter names and tunnel types, checked before any system call, and the plan from a requested
//! name to Wintun calls. Pure: the tests run on every platform.
//!
//! Wintun takes both as NUL-terminated UTF-16 strings of at most `MAX_ADAPTER_NAME - 1` (127)
//! code units; the tunnel type is shown as `<type> Tunnel`, in the same 128-unit buffer.

use crate::check::Checked;

/// The longest adapter name Wintun accepts, in UTF-16 code units (`MAX_ADAPTER_NAME` less the
/// NUL).
pub(crate) const MAX_NAME_UNITS: usize = 127;

/// The longest tunnel type: the name limit less `" Tunnel"`, which Wintun appends.
const MAX_TUNNEL_TYPE_UNITS: usize = MAX_NAME_UNITS - " Tunnel".len();

/// The tunnel type recorded when the builder names none.
pub(crate) const DEFAULT_TUNNEL_TYPE: &str = "tun-core";

/// What an empty name means: Windows has no kernel that picks names, so the crate does, like
/// Linux's `tun%d`.
const DEFAULT_PATTERN: &str = "tun%d";

/// The highest `%d` number tried before giving up.
const MAX_PATTERN_UNIT: u32 = 9999;

fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// A string for Wintun: not too long, no control characters (NUL would cut it short; the
/// others are refused by the Windows UI and tools that show connection names).
fn check_text(what: &str, text: &str, max_units: usize) -> Checked {
    if units(text) > max_units {
        return Err(format!(
            "{what} {text:?} is {} UTF-16 code units long; at most {max_units} are allowed",
            units(text)
        ));
    }
    if let Some(bad) = text.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{what} {text:?} contains the control character {bad:?}"
        ));
    }
    Ok(())
}

/// Windows adapter names: at most [`MAX_NAME_UNITS`] UTF-16 code units, no control character,
/// no `%` other than one `%d` (which must leave room for the number). Empty means
/// `tun%d`. Leading or trailing spaces are refused: Windows trims them from connection names, so
/// the adapter would not be found by the name asked for.
pub(crate) fn check_name(name: &str) -> Checked {
    check_text("name", name, MAX_NAME_UNITS)?;
    if name.trim() != name {
        return Err(format!(
            "name {name:?} starts or ends with a space, which Windows trims from adapter names"
        ));
    }
    let percents = name.matches('%').count();
    if percents > 1 || (percents == 1 && !name.contains("%d")) {
        return Err(format!(
            "name {name:?} has a '%' that is not a single \"%d\" pattern"
        ));
    }
    if percents == 1 && units(name) - 2 + 1 > MAX_NAME_UNITS {
        return Err(format!(
            "name pattern {name:?} leaves no room for a number within {MAX_NAME_UNITS} UTF-16 \
             code units"
        ));
    }
    Ok(())
}

/// A tunnel type: non-empty, at most 120 UTF-16 code units, no control character.
pub(crate) fn check_tunnel_type(tunnel_type: &str) -> Checked {
    if tunnel_type.is_empty() {
        return Err("the tunnel type is empty".into());
    }
    check_text("tunnel type", tunnel_type, MAX_TUNNEL_TYPE_UNITS)
}

/// How a build reaches its adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// An exact name: open the Wintun adapter of that name if there is one, else create it.
    Exact(String),
    /// A pattern: create an adapter with the first of these names that no interface has.
    Pattern { prefix: String, suffix: String },
}

/// The plan for a checked `name`.
pub(crate) fn plan(name: &str) -> Plan {
    let name = if name.is_empty() {
        DEFAULT_PATTERN
    } else {
        name
    };
    match name.split_once("%d") {
        Some((prefix, suffix)) => Plan::Pattern {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
        },
        None => Plan::Exact(name.to_owned()),
    }
}

/// The names a pattern stands for, in the order to try them, as long as they fit.
pub(crate) fn pattern_names<'a>(
    prefix: &'a str,
    suffix: &'a str,
) -> impl Iterator<Item = String> + 'a {
    (0..=MAX_PATTERN_UNIT)
        .map(move |unit| format!("{prefix}{unit}{suffix}"))
        .take_while(|name| units(name) <= MAX_NAME_UNITS)
}

/// `text` as a NUL-terminated UTF-16 string, for the W functions.
pub(crate) fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(Some(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names() {
        let longest = "x".repeat(MAX_NAME_UNITS);
        for good in [
            "",
            "tun0",
            "tun%d",
            "My VPN",
            "Wintun (work)",
            "vpn-ü",
            "名前",
            longest.as_str(),
        ] {
            assert!(check_name(good).is_ok(), "{good:?} rejected");
        }
        let too_long = "x".repeat(MAX_NAME_UNITS + 1);
        // 64 characters outside the BMP are 128 UTF-16 code units (and 256 UTF-8 bytes).
        let astral = "😀".repeat(64);
        for bad in [
            too_long.as_str(),
            astral.as_str(),
            "nul\0",
            "tab\tname",
            "line\nbreak",
            " leading",
            "trailing ",
            "%s",
            "t%d%d",
            "tun%",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
        // A pattern needs room for at least one digit.
        let full_pattern = format!("{}%d", "x".repeat(MAX_NAME_UNITS - 1));
        assert!(check_name(&full_pattern).is_err());
        let fitting_pattern = format!("{}%d", "x".repeat(MAX_NAME_UNITS - 2));
        assert!(check_name(&fitting_pattern).is_ok());
    }

    #[test]
    fn windows_tunnel_types() {
        assert!(check_tunnel_type(DEFAULT_TUNNEL_TYPE).is_ok());
        assert!(check_tunnel_type("WireGuard").is_ok());
        assert!(check_tunnel_type(&"t".repeat(120)).is_ok());
        assert!(check_tunnel_type(&"t".repeat(121)).is_err());
        assert!(check_tunnel_type("").is_err());
        assert!(check_tunnel_type("a\0b").is_err());
    }

    #[test]
    fn windows_plans_and_patterns() {
        assert_eq!(plan("My VPN"), Plan::Exact("My VPN".into()));
        let pattern = |prefix: &str, suffix: &str| Plan::Pattern {
            prefix: prefix.into(),
            suffix: suffix.into(),
        };
        assert_eq!(plan(""), pattern("tun", ""));
        assert_eq!(plan("vpn %d (x)"), pattern("vpn ", " (x)"));
        let names: Vec<String> = pattern_names("vpn", "").take(3).collect();
        assert_eq!(names, ["vpn0", "vpn1", "vpn2"]);
        // 125 units of prefix leave room for units 0 to 99 only.
        let prefix = "p".repeat(MAX_NAME_UNITS - 2);
        assert_eq!(pattern_names(&prefix, "").count(), 100);
        assert_eq!(pattern_names(&"p".repeat(MAX_NAME_UNITS), "").count(), 0);
    }

    #[test]
    fn wide_strings_are_nul_terminated_utf16() {
        assert_eq!(wide("ab"), [0x61, 0x62, 0]);
        assert_eq!(wide("😀"), [0xd83d, 0xde00, 0]);
        assert_eq!(wide(""), [0]);
    }
}
